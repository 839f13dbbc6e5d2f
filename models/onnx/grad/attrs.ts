// Reading a forward node's attributes with their ONNX defaults.
import type { NodeProto } from '../proto.ts';
import type { NodeAttrs } from './rule.ts';

const decoder = new TextDecoder();

export function nodeAttrs(node: NodeProto): NodeAttrs {
  const find = (name: string) => (node.attribute ?? []).find((a) => a.name === name);
  return {
    int: (name, fallback) => find(name)?.i ?? fallback,
    ints: (name, fallback) => find(name)?.ints ?? [...fallback],
    float: (name, fallback) => find(name)?.f ?? fallback,
    string: (name, fallback) => {
      const s = find(name)?.s;
      return s ? decoder.decode(s) : fallback;
    },
  };
}
