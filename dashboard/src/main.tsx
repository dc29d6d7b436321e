import { render } from 'preact';
import { auth } from './api.ts';
import { App } from './app.tsx';
import './styles.css';

// `#token=…` signs in without the prompt (the fragment never reaches the server or its logs).
const fragment = new URLSearchParams(location.hash.slice(1));
const token = fragment.get('token');
if (token) {
  auth.set(token);
  history.replaceState(null, '', location.pathname + location.search);
}

render(<App />, document.getElementById('app')!);
