import * as tf from '@tensorflow/tfjs';

/** TF.js's CPU backend, the reference our converted face models are checked against, without its
 * "install our node backend" banner (prod mode also skips its debug checks, which we don't use). */
export async function useTfjsCpu(): Promise<void> {
  tf.enableProdMode();
  await tf.setBackend('cpu');
}
