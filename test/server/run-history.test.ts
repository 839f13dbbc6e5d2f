import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RunEvent, newRun, reduceRun, fullLog, runSummary } from '../../protocol/index.ts';
import { Executor } from '../../runtime/executor.ts';
import { RUN_HISTORY_LIMIT, RunHistory, storedView } from '../../server/run-history.ts';
import { failingGraph, tempData, testRegistry } from '../helpers/test-nodes.ts';
import { tempDir } from '../helpers/temp.ts';

/** Runs a graph where one branch fails and one succeeds; returns its events and summary. */
async function endedRun(runId: string, queuedAt: number) {
  const data = tempData();
  const executor = new Executor({ registry: testRegistry(), data });
  const g = failingGraph();
  const events: RunEvent[] = [{ type: 'run.queued', runId, time: queuedAt, position: 0 }];
  await executor.run(g, { runId, onEvent: (e) => void (e.type !== 'node.progress' && events.push(e)) });
  const state = events.reduce(reduceRun, newRun(runId));
  return { events, state, graph: g, summary: runSummary(state, 'test', events) };
}


describe('run history', () => {
  it('keeps 500 runs by default', () => {
    expect(RUN_HISTORY_LIMIT).toBe(500);
  });

  it('a saved run reads back in a new RunHistory: summary, events, the view folded from them, the whole log', async () => {
    const dir = tempDir('history');
    const run = await endedRun('r1', 1000);
    expect(run.summary).toMatchObject({ status: 'failed', logCount: 1, lastError: { nodeId: 'bad', message: 'deliberate failure' } });
    await new RunHistory(dir).save(run.summary, run.events, run.graph);
    expect(readdirSync(dir)).toEqual(['r1.json']);

    const reopened = new RunHistory(dir);
    expect(reopened.summaries()).toEqual([JSON.parse(JSON.stringify(run.summary))]);
    const stored = reopened.read('r1')!;
    expect(stored.events).toEqual(JSON.parse(JSON.stringify(run.events)));
    expect(stored.graph).toEqual(run.graph);
    expect(storedView(stored)).toEqual(JSON.parse(JSON.stringify(run.state)));
    expect(storedView(stored).nodes).toMatchObject({ bad: { state: 'error' }, after: { state: 'skipped' }, good: { state: 'done' } });
    expect(fullLog(stored.events)).toEqual([expect.objectContaining({ level: 'error', nodeId: 'bad', message: 'deliberate failure' })]);
  });

  it('drops the oldest runs beyond its limit, on disk too, also when opened with a lower limit', async () => {
    const dir = tempDir('history');
    const history = new RunHistory(dir, 3);
    for (let i = 1; i <= 5; i++) {
      const run = await endedRun(`r${i}`, 1000 * i);
      await history.save(run.summary, run.events, run.graph);
    }
    expect(history.summaries().map((s) => s.runId)).toEqual(['r5', 'r4', 'r3']);
    expect(readdirSync(dir).sort()).toEqual(['r3.json', 'r4.json', 'r5.json']);
    expect(history.read('r1')).toBeUndefined();

    const smaller = new RunHistory(dir, 1);
    expect(smaller.summaries().map((s) => s.runId)).toEqual(['r5']);
    expect(readdirSync(dir)).toEqual(['r5.json']);
  });

  it('drops the run queued first, not the one saved first (runs of other servers come in any order)', async () => {
    const dir = tempDir('history');
    const history = new RunHistory(dir, 2);
    for (const [id, queuedAt] of [['late', 3000], ['early', 1000], ['middle', 2000]] as const) {
      const run = await endedRun(id, queuedAt);
      await history.save(run.summary, run.events, run.graph);
    }
    expect(history.summaries().map((s) => s.runId)).toEqual(['late', 'middle']);
    expect(readdirSync(dir).sort()).toEqual(['late.json', 'middle.json']);
  });

  it('leaves files that are not run records in place and does not list them', async () => {
    const dir = tempDir('history');
    writeFileSync(path.join(dir, 'broken.json'), '{"format":"facechain-run",');
    const run = await endedRun('r1', 1000);
    // A record under another name is not trusted: its id would not match its file.
    writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ format: 'facechain-run', version: 1, summary: run.summary, events: [] }));
    const history = new RunHistory(dir);
    expect(history.summaries()).toEqual([]);
    expect(existsSync(path.join(dir, 'broken.json'))).toBe(true);
    expect(history.read('other')).toBeUndefined();
  });

  it('reads only listed runs: an id shaped like a path never reaches the disk', async () => {
    const parent = tempDir('history');
    const dir = path.join(parent, 'runs');
    mkdirSync(dir);
    const run = await endedRun('r1', 1000);
    const outside = path.join(parent, 'secret');
    writeFileSync(`${outside}.json`, JSON.stringify({ format: 'facechain-run', version: 1, summary: run.summary, events: run.events }));
    expect(new RunHistory(dir).read(`../${path.basename(outside)}`)).toBeUndefined();
  });
});
