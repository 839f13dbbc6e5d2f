// Public surface of the ONNX toolkit.
export { GraphBuilder, broadcastShape, type Operand, type Ints, type ConvOptions, type ConvTransposeOptions, type PoolOptions, type ResizeOptions, type GroupNormOptions } from './builder.ts';
export { GraphCore, attr, DEFAULT_OPSET, type Value, type Dim, type Attrs, type AttrValue, type OpOptions, type GraphBuilderOptions } from './graph-core.ts';
export { DTYPES, bytesPerElement, dtypeFromOnnx, onnxDataType, arrayFromBytes, arrayFromValues, bytesOfArray, elementCount, type DType, type TypedArray } from './dtype.ts';
export { toFloat16, fromFloat16, toBfloat16, fromBfloat16, float32ToFloat16Bits, float16BitsToFloat32, float32ToBfloat16Bits, bfloat16BitsToFloat32 } from './half.ts';
export { tensorToProto, tensorFromProto, externalLocation, isExternal, type HostTensor, type ExternalTensor, type ExternalLocation } from './tensor.ts';
export { encodeModel, decodeModel, DataType, AttributeType, type ModelProto, type GraphProto, type NodeProto, type TensorProto, type AttributeProto, type ValueInfoProto } from './proto.ts';
