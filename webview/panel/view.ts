// Top level of the panel: the empty / connecting views and the device section.
import { html, nothing, type TemplateResult } from 'lit';
import type { ConnectionInfo, PanelState } from '../messages.js';
import type { ViewContext } from './context.js';
import { allocationsSection, callsSection, functionsSection, heapSection } from './sections.js';
import { section } from './section.js';

export function panelView(state: PanelState, ctx: ViewContext): TemplateResult {
  const { connection } = state;
  if (connection.state !== 'connected') {
    return html`
      ${connection.state === 'connecting' ? connectingView(connection) : disconnectedView(connection, ctx)}
      ${state.calls.length > 0 ? callsSection(state.calls, ctx) : nothing}
    `;
  }
  return html`
    ${deviceSection(connection, ctx)}
    ${heapSection(state.heap, ctx)}
    ${allocationsSection(state.allocations, ctx)}
    ${functionsSection(state.functions, ctx)}
    ${callsSection(state.calls, ctx)}
  `;
}

function disconnectedView(connection: ConnectionInfo, ctx: ViewContext): TemplateResult {
  return html`
    <section class="empty" aria-labelledby="empty-title">
      <h2 id="empty-title">No device connected</h2>
      <p class="muted">
        Connect an ESP32-P4 over USB, or use the built-in emulated ESP32-P4, to see its heap,
        loaded functions and call results here.
      </p>
      ${connection.error
        ? html`<p class="notice" role="status"><strong>Last attempt failed:</strong> ${connection.error}</p>`
        : nothing}
      <vscode-button
        class="connect"
        aria-label="Connect to an ESP32-P4 or the emulated one"
        ?disabled=${ctx.isBusy('connect')}
        @click=${() => ctx.send({ type: 'connect' }, 'connect')}
      >Connect</vscode-button>
    </section>
  `;
}

function connectingView(connection: ConnectionInfo): TemplateResult {
  return html`
    <section class="empty" aria-labelledby="empty-title" aria-busy="true">
      <h2 id="empty-title">Connecting…</h2>
      <p class="muted" role="status">
        Waiting for ${deviceName(connection)}${connection.port
          ? html` on <span class="mono">${connection.port}</span>`
          : nothing} to answer.
      </p>
      <vscode-progress-bar indeterminate aria-label="Connecting"></vscode-progress-bar>
    </section>
  `;
}

function deviceSection(connection: ConnectionInfo, ctx: ViewContext): TemplateResult {
  const firmware = connection.firmware;
  const body = html`
    <p class="status" role="status">
      <span class="status-dot" aria-hidden="true"></span>
      Connected to ${deviceName(connection)}
    </p>
    <dl class="facts">
      <dt>Port</dt>
      <dd class="mono">${connection.port ?? '—'}</dd>
      <dt>Firmware</dt>
      <dd>${firmware ? `${firmware.board}, protocol ${firmware.protocolVersion}` : 'unknown'}</dd>
    </dl>
    <vscode-button
      secondary
      aria-label="Refresh heap and allocations from the device"
      ?disabled=${ctx.isBusy('refresh')}
      @click=${() => ctx.send({ type: 'refresh' }, 'refresh')}
    >Refresh</vscode-button>
  `;
  return section('device', ctx, 'Device', connection.emulated ? 'emulated' : 'board', body);
}

function deviceName(connection: ConnectionInfo): string {
  return connection.emulated ? 'the emulated ESP32-P4' : 'an ESP32-P4 board';
}
