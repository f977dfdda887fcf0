import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createAppStore } from './state/store';
import { startRunner } from './state/runner';
import { initialLink, syncUrl } from './state/urlSync';
import { defaultWorkerFactory } from './worker/client';
import { App } from './ui/App';
import { AppContext } from './ui/useApp';
import { STORY } from './ui/presets';
import { installFaultHooks } from './ui/testHooks';
import './ui/styles.css';

// An empty hash opens the first screen's story; any other hash is the configuration it names.
const store = createAppStore(initialLink() || STORY.link);
syncUrl(store);
const runner = startRunner(store, defaultWorkerFactory);
// Only the end-to-end fault tests build the 'faults' mode. A literal, so that the production build
// (MODE 'production') folds the test to false and drops the hooks.
if (import.meta.env.MODE === 'faults') installFaultHooks(runner);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AppContext.Provider value={{ store, runner }}>
      <App />
    </AppContext.Provider>
  </StrictMode>,
);
