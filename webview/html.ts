// The device panel's HTML document (pure: the extension passes in the webview URIs).
import { P4JitError } from '../extension/util/errors.js';

export interface PanelHtmlOptions {
  /** `webview.asWebviewUri(...)` of dist/webview/panel.js, as a string. */
  scriptUri: string;
  /** `webview.asWebviewUri(...)` of dist/webview/panel.css, as a string. */
  styleUri: string;
  /** `webview.cspSource`. */
  cspSource: string;
  /** A fresh `createNonce()` for every document. */
  nonce: string;
}

const NONCE_FORMAT = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * Only our own script (by nonce) and files from the extension (cspSource) may load; no inline
 * styles are allowed because the element library uses constructable stylesheets, which a
 * style-src directive does not govern, and styles set through the CSSOM are not inline styles.
 */
export function panelCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export function panelHtml(options: PanelHtmlOptions): string {
  const { scriptUri, styleUri, cspSource, nonce } = options;
  if (!NONCE_FORMAT.test(nonce)) throw new P4JitError('panelHtml: the nonce must be 16-128 URL-safe base64 characters');
  // VS Code's cspSource is a list of sources, e.g. "'self' https://*.vscode-cdn.net"; anything
  // that could close the directive or add another is refused
  const sourceOk = (t: string) => /^('self'|[a-z][a-z0-9+.-]*:(\/\/[^\s'"]+)?)$/i.test(t);
  if (/[;,"]/.test(cspSource) || !cspSource.trim().split(/\s+/).every(sourceOk)) {
    throw new P4JitError(`panelHtml: unexpected characters in cspSource ${JSON.stringify(cspSource)}`);
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(panelCsp(cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(styleUri)}">
<title>ESP32-P4 device</title>
</head>
<body>
<main id="root"></main>
<script nonce="${nonce}" src="${escapeAttribute(scriptUri)}"></script>
</body>
</html>
`;
}

/** 32 random bytes as URL-safe base64 (43 characters), from the platform's CSPRNG. */
export function createNonce(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
