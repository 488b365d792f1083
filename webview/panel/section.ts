// A collapsible panel section.
import { html, type nothing, type TemplateResult } from 'lit';
import type { SectionId, ViewContext } from './context.js';

/**
 * A collapsible section. Native <details>/<summary> rather than vscode-collapsible: its header
 * is exposed to screen readers as a button with its expanded state, and Space toggles it too.
 */
export function section(
  id: SectionId,
  ctx: ViewContext,
  heading: string,
  summary: TemplateResult | string | typeof nothing,
  body: TemplateResult,
): TemplateResult {
  return html`
    <details class="section" id=${`section-${id}`} ?open=${ctx.isOpen(id)}
      @toggle=${(event: Event) => ctx.setOpen(id, (event.currentTarget as HTMLDetailsElement).open)}>
      <summary><span class="section-title">${heading}</span><span class="section-summary">${summary}</span></summary>
      <div class="section-body">${body}</div>
    </details>
  `;
}
