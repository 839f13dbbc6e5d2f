// Values the face functions take and return. Coordinates are image pixels, origin top-left.
import { z } from 'zod';

/** Raw pixels as sharp's raw output gives them: row-major, interleaved, 8 bits per channel. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

export const pointSchema = z.object({ x: z.number(), y: z.number() });
export type Point = z.infer<typeof pointSchema>;

export const point3Schema = z.object({ x: z.number(), y: z.number(), z: z.number() });
export type Point3 = z.infer<typeof point3Schema>;

export const boxSchema = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
export type Box = z.infer<typeof boxSchema>;

/**
 * Five landmarks in the usual alignment order, as seen in the image: the image-left eye centre, the
 * image-right eye centre, the nose tip, the image-left mouth corner, the image-right mouth corner.
 */
export const landmarks5Schema = z.tuple([pointSchema, pointSchema, pointSchema, pointSchema, pointSchema]);
export type Landmarks5 = z.infer<typeof landmarks5Schema>;

export const detectedFaceSchema = z.object({
  /** Tight box around the face mesh (forehead to chin, cheek to cheek). */
  box: boxSchema,
  /** BlazeFace detection confidence, 0..1. */
  score: z.number(),
  /** FaceMesh's face-presence probability for the refined crop, 0..1. */
  faceness: z.number(),
  landmarks: landmarks5Schema,
  /** Roll in radians: the angle of the eye line from the image x axis (positive = clockwise on screen). */
  roll: z.number(),
  /** FaceMesh's 468 points (z is relative depth in the same pixel scale). */
  mesh: z.array(point3Schema),
});
export type DetectedFace = z.infer<typeof detectedFaceSchema>;

export const genderSchema = z.enum(['female', 'male']);

export const faceAttributesSchema = z.object({
  gender: genderSchema,
  /** Probability of the stated gender, 0.5..1. */
  genderScore: z.number(),
  /** Age estimate in years. */
  age: z.number(),
});
export type FaceAttributes = z.infer<typeof faceAttributesSchema>;
