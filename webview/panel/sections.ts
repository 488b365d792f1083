// The data sections of the panel: heap, allocations, loaded functions, recent calls.
import { html, nothing, type TemplateResult } from 'lit';
import { ref } from 'lit/directives/ref.js';
import { repeat } from 'lit/directives/repeat.js';
import { ARGUMENTS_OWNER, type AllocationInfo, type CallFault, type CallRecord, type HeapInfo, type LoadedFunctionInfo } from '../messages.js';
import {
  baseName, decodeCaps, formatBytes, formatClock, formatCount, formatFree, formatHex, usedPercent,
} from '../../extension/session/units.js';
import { renderPlot, type RenderedPlot } from '../plot/render.js';
import type { PlotSeries } from '../plot/spec.js';
import type { ViewContext } from './context.js';
import { section } from './section.js';

/** A region is drawn in the warning colour when less than this share of it is free. */
const LOW_FREE_SHARE = 0.1;

export function heapSection(heap: HeapInfo | null, ctx: ViewContext): TemplateResult {
  const body = heap
    ? html`
        ${heapRegion('PSRAM', heap.freeSpiram, heap.totalSpiram)}
        ${heapRegion('Internal RAM', heap.freeInternal, heap.totalInternal)}
      `
    : html`<p class="muted">Not read yet. Use Refresh to read it.</p>`;
  const summary = heap
    ? `${formatFree(heap.freeSpiram + heap.freeInternal, heap.totalSpiram + heap.totalInternal)} free`
    : nothing;
  return section('heap', ctx, 'Heap', summary, body);
}

function heapRegion(label: string, free: number, total: number): TemplateResult {
  if (total <= 0) {
    return html`<div class="region"><div class="region-head"><span>${label}</span><span class="muted">none</span></div></div>`;
  }
  const used = total - free;
  // A native <meter> needs no inline style (which the CSP forbids) and is announced as a meter.
  // With optimum below low = high, the browser styles it as "less good" once usage passes high.
  const high = total * (1 - LOW_FREE_SHARE);
  return html`
    <div class="region">
      <div class="region-head">
        <span>${label}</span>
        <span class="muted" title=${`${formatCount(free)} of ${formatCount(total)} bytes free`}>
          ${formatFree(free, total)} free of ${formatBytes(total)}
        </span>
      </div>
      <meter class="bar" min="0" max=${total} value=${used} low=${high} high=${high} optimum="0"
        aria-label=${`${label} in use`}
        aria-valuetext=${`${formatBytes(used)} of ${formatBytes(total)} in use (${Math.round(usedPercent(free, total))}%)`}
      ></meter>
    </div>
  `;
}

export function allocationsSection(allocations: AllocationInfo[], ctx: ViewContext): TemplateResult {
  const totalBytes = allocations.reduce((sum, a) => sum + a.size, 0);
  // A list rather than a five-column table: a table that wide does not fit a 300 px sidebar.
  const body = allocations.length === 0
    ? html`<p class="muted">No live allocations.</p>`
    : html`<ul class="items" aria-label="Live allocations on the device">
        ${repeat(allocations, (a) => a.addr, (a) => allocationItem(a, ctx))}
      </ul>`;
  return section('allocations', ctx, 'Allocations', countSummary(allocations.length, formatBytes(totalBytes)), body);
}

function allocationItem(allocation: AllocationInfo, ctx: ViewContext): TemplateResult {
  const address = formatHex(allocation.addr);
  const busyKey = `free:${allocation.addr}`;
  return html`
    <li class="item allocation" data-addr=${address}>
      <div class="item-head">
        <span class="mono name">${address}</span>
        <span title=${`${formatCount(allocation.size)} bytes`}>${formatBytes(allocation.size)}</span>
        <span class="item-actions">
          ${allocation.owner === ARGUMENTS_OWNER
            // Not offered: the extension would refuse it while functions share the buffer.
            ? html`<span class="muted" title="The buffer the loaded functions' array arguments share">freed by Free All</span>`
            : html`<vscode-button secondary
                aria-label=${`Free ${formatBytes(allocation.size)} at ${address}`}
                ?disabled=${ctx.isBusy(busyKey)}
                @click=${() => ctx.send({ type: 'freeAllocation', addr: allocation.addr }, busyKey)}
              >Free</vscode-button>`}
        </span>
      </div>
      <div class="item-line">
        <ul class="caps" aria-label="Capabilities">
          ${decodeCaps(allocation.caps).map((name) => html`<li class="cap">${name}</li>`)}
        </ul>
        ${allocation.owner
          ? html`<span><span class="muted">owned by</span> <code>${allocation.owner}</code></span>`
          : html`<span class="muted">no owner</span>`}
      </div>
    </li>
  `;
}

export function functionsSection(functions: LoadedFunctionInfo[], ctx: ViewContext): TemplateResult {
  const body = functions.length === 0
    ? html`<p class="muted">No functions loaded. Run a C function on the device to load it.</p>`
    : html`<ul class="items">${repeat(functions, (f) => f.key, (f) => functionItem(f, labelOf(f, functions), ctx))}</ul>`;
  return section('functions', ctx, 'Loaded functions', countSummary(functions.length), body);
}

/** How buttons name a function: its C name, with its file where another loaded function shares it. */
function labelOf(fn: LoadedFunctionInfo, all: LoadedFunctionInfo[]): string {
  const namesakes = all.filter((f) => f.name === fn.name);
  if (namesakes.length === 1) return fn.name;
  const base = baseName(fn.file);
  return `${fn.name} in ${namesakes.filter((f) => baseName(f.file) === base).length === 1 ? base : fn.file}`;
}

function functionItem(fn: LoadedFunctionInfo, label: string, ctx: ViewContext): TemplateResult {
  const runKey = `run:${fn.key}`;
  const unloadKey = `unload:${fn.key}`;
  return html`
    <li class="item" data-function=${fn.name}>
      <div class="item-head">
        <code class="name">${fn.name}</code>
        ${fn.stale
          ? html`<vscode-badge class="stale" title="The source changed since this code was loaded">stale</vscode-badge>`
          : nothing}
        <span class="item-actions">
          <vscode-button secondary aria-label=${`Run ${label}`} ?disabled=${ctx.isBusy(runKey)}
            @click=${() => ctx.send({ type: 'runFunction', key: fn.key }, runKey)}>Run</vscode-button>
          <vscode-button secondary aria-label=${`Unload ${label}`} ?disabled=${ctx.isBusy(unloadKey)}
            @click=${() => ctx.send({ type: 'freeFunction', key: fn.key }, unloadKey)}>Unload</vscode-button>
        </span>
      </div>
      <div class="muted">
        ${functionSize(fn)} at <span class="mono">${formatHex(fn.addr)}</span>
        from <span title=${fn.file}>${baseName(fn.file)}</span>
      </div>
      <div>
        <span class="muted">Last result</span>
        ${fn.lastResult === null ? html`<span class="muted">none yet</span>` : html`<code class="value">${fn.lastResult}</code>`}
      </div>
    </li>
  `;
}

/** The code's size, and its allocation's when that is larger (so the two figures never disagree unexplained). */
function functionSize(fn: LoadedFunctionInfo): string {
  return fn.allocSize !== undefined && fn.allocSize > fn.size
    ? `${formatBytes(fn.size)} in a ${formatBytes(fn.allocSize)} slot (room to grow)`
    : formatBytes(fn.size);
}

export function callsSection(calls: CallRecord[], ctx: ViewContext): TemplateResult {
  const body = calls.length === 0
    ? html`<p class="muted">No calls yet.</p>`
    : html`<ol class="items">${repeat(calls, (c) => c.id, (c) => callItem(c, ctx))}</ol>`;
  return section('calls', ctx, 'Recent calls', countSummary(calls.length), body);
}

function callItem(call: CallRecord, ctx: ViewContext): TemplateResult {
  const metrics = call.measured;
  return html`
    <li class=${call.fault ? 'item call faulted' : 'item call'} data-call=${call.id}>
      <div class="item-head">
        <code class="name">${call.function}(${call.args.join(', ')})</code>
        <time class="muted" datetime=${call.at}>${formatClock(call.at)}</time>
      </div>
      ${call.fault
        ? faultView(call.fault, ctx)
        : html`<div><span class="muted">returned</span> <code class="value">${call.returnValue ?? ''}</code></div>`}
      ${metrics.length > 0 ? html`<div class="muted">${metrics.join(' · ')}</div>` : nothing}
      ${call.output
        ? html`<pre class="output" tabindex="0" aria-label=${`Output of ${call.function}`}>${call.output}</pre>`
        : nothing}
      ${call.arrays.length > 0
        ? html`
            <div class="muted">Arrays after the call</div>
            <dl class="arrays">${call.arrays.map((a) => html`
              <dt><code>${a.name}</code> <span class="muted">${a.length} values</span>
                <button class="link" aria-label=${`Copy or save all ${a.length} values of ${a.name}`}
                  @click=${() => ctx.send({ type: 'exportArray', call: call.id, name: a.name })}>Copy or Save…</button></dt>
              <dd>${a.plot
                ? html`<div class="array-plot" aria-label=${`Plot of ${a.name}`} ${ref(arrayPlot(`${call.id}/${a.name}`, a.plot))}></div>
                    <details><summary>Numbers</summary><code>${a.values}</code></details>`
                : html`<code>${a.values}</code>`}</dd>`)}</dl>`
        : nothing}
    </li>
  `;
}

function faultView(fault: CallFault, ctx: ViewContext): TemplateResult {
  const { file, line } = fault;
  return html`
    <div class="fault">
      <strong>Fault:</strong> ${fault.message}
      ${file !== null && line !== null
        ? html`<div>at <button class="link source-link" aria-label=${`Open ${file} at line ${line}`}
            @click=${() => ctx.send({ type: 'openSource', file, line })}>${baseName(file)}:${line}</button></div>`
        : nothing}
    </div>
  `;
}

function countSummary(count: number, extra?: string): TemplateResult {
  return html`<vscode-badge variant="counter">${count}</vscode-badge>${extra ? html` <span>${extra}</span>` : nothing}`;
}

/** Draws an array's small plot once per element (a re-render of the same call keeps its chart). */
function arrayPlot(key: string, series: PlotSeries): (element?: Element) => void {
  return (element) => {
    if (!(element instanceof HTMLElement) || element.dataset.plotted === key) return;
    plotted.get(element)?.dispose();
    element.dataset.plotted = key;
    plotted.set(element, renderPlot(element, { kind: 'line', series: [series] }, { height: 90, minWidth: 160, compact: true }));
  };
}

const plotted = new WeakMap<Element, RenderedPlot>();
