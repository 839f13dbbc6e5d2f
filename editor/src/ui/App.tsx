import { ReactFlowProvider } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Api } from '../core/api.ts';
import type { Workbench } from '../core/workbench.ts';
import { Canvas } from './Canvas.tsx';
import { EditorContext, type DialogKind, type Editor, type ImageRef } from './context.ts';
import { Dialogs } from './Dialogs.tsx';
import { ImageViewer } from './ImageViewer.tsx';
import { LogPanel } from './LogPanel.tsx';
import { Palette } from './Palette.tsx';
import { QuickAdd, type QuickAddRequest } from './QuickAdd.tsx';
import { SweepPanel } from './SweepPanel.tsx';
import { Toasts } from './Toasts.tsx';
import { Toolbar } from './Toolbar.tsx';

export function App({ bench, api }: { bench: Workbench; api: Api }) {
  const [viewer, setViewer] = useState<{ images: ImageRef[]; start: number }>();
  const [quick, setQuick] = useState<QuickAddRequest>();
  const [dialog, setDialog] = useState<DialogKind>();

  const showImages = useCallback((images: ImageRef[], start = 0) => setViewer({ images, start }), []);
  const quickAdd = useCallback<Editor['quickAdd']>((at, wire) => setQuick({ at, wire }), []);
  const editor = useMemo<Editor>(
    () => ({ ...bench, api, showImages, quickAdd, openDialog: setDialog }),
    [bench, api, showImages, quickAdd],
  );

  // Last edit is written before the tab goes away, not only after the autosave delay.
  useEffect(() => {
    const flush = () => bench.session.flushAutosave();
    window.addEventListener('pagehide', flush);
    return () => window.removeEventListener('pagehide', flush);
  }, [bench]);

  return (
    <EditorContext.Provider value={editor}>
      <ReactFlowProvider>
        <div className="fc-app">
          <Toolbar />
          <div className="fc-main">
            <Palette />
            <div className="fc-canvas-column">
              <Canvas />
              <SweepPanel />
              <LogPanel />
            </div>
          </div>
          <Toasts />
          {quick && <QuickAdd request={quick} onClose={() => setQuick(undefined)} />}
          {viewer && <ImageViewer images={viewer.images} start={viewer.start} onClose={() => setViewer(undefined)} />}
          <Dialogs open={dialog} onClose={() => setDialog(undefined)} />
        </div>
      </ReactFlowProvider>
    </EditorContext.Provider>
  );
}
