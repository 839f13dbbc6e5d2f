import '@xyflow/react/dist/style.css';
import './styles.css';
import { createRoot } from 'react-dom/client';
import { Api } from './core/api.ts';
import { resolveToken } from './core/token.ts';
import { Boot } from './ui/Boot.tsx';

const { token, cleanUrl } = resolveToken({ url: new URL(location.href), storage: sessionStorage });
if (cleanUrl.href !== location.href) history.replaceState(null, '', cleanUrl);

createRoot(document.getElementById('root')!).render(<Boot api={new Api('', token)} />);
