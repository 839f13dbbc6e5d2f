// The values the model-backed port types carry, registered with the runtime by declaration merging so
// that runtime/ need not import models/.
import type { Lora } from '../models/lora/schema.ts';
import type { LoraStack } from '../models/lora/stack.ts';
import type { Dataset, FaceSet, TagSet } from '../models/preprocess/values.ts';
import type { Latent } from '../models/sd/latent.ts';
import type { SdModel } from '../models/sd/sd-model.ts';

declare module '../runtime/values.ts' {
  interface PortValues {
    FACES: FaceSet;
    DATASET: Dataset;
    TAGS: TagSet;
    LORA: Lora;
    LORA_STACK: LoraStack;
    SD_MODEL: SdModel;
    LATENT: Latent;
  }
}
