// Every test file removes the temp folders it made (test/helpers/temp.ts) once its tests are done.
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp.ts';

afterAll(removeTempDirs);
