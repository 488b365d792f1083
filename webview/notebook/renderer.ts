/**
 * The notebook renderer for P4-JIT plot outputs (`application/vnd.p4jit.plot+json`): VS Code loads
 * it into the notebook's webview as an ES module and calls renderOutputItem for each such output.
 * The stylesheet is bundled into this module and added once per document, so the renderer works
 * offline with nothing but its own file.
 */
import type { ActivationFunction, OutputItem } from 'vscode-notebook-renderer';

import { renderPlot, type RenderedPlot } from '../plot/render.js';
import { parsePlotSpec } from '../plot/spec.js';
import { errorMessage } from '../../extension/util/errors.js';
import styles from '../plot/plot.css';

const STYLE_ID = 'p4jit-plot-styles';

export const activate: ActivationFunction = () => {
  const rendered = new Map<string, RenderedPlot>();
  return {
    renderOutputItem(item: OutputItem, element: HTMLElement) {
      rendered.get(item.id)?.dispose();
      addStyles(element);
      element.replaceChildren();
      try {
        rendered.set(item.id, renderPlot(element, parsePlotSpec(item.json())));
      } catch (error) {
        // a malformed output shows its reason where the plot would be
        const message = document.createElement('pre');
        message.className = 'p4jit-plot-error';
        message.textContent = errorMessage(error);
        element.append(message);
      }
    },
    disposeOutputItem(id?: string) {
      for (const [key, plot] of rendered) {
        if (id !== undefined && key !== id) continue;
        plot.dispose();
        rendered.delete(key);
      }
    },
  };
};

function addStyles(element: HTMLElement): void {
  const root = element.getRootNode() as Document | ShadowRoot;
  if (root.querySelector?.(`#${STYLE_ID}`)) return;
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = styles;
  (root instanceof ShadowRoot ? root : document.head).append(style);
}
