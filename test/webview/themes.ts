// The --vscode-* variables a webview receives, for VS Code's default "Dark Modern" and
// "Light Modern" themes (values of VS Code 1.100's theme files and colour registry defaults).
// VS Code sets them on <html style> and a vscode-dark / vscode-light class on <body>.

export interface WebviewTheme {
  kind: 'vscode-dark' | 'vscode-light';
  variables: Record<string, string>;
}

const FONTS = {
  'font-family': '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
  'font-weight': 'normal',
  'font-size': '13px',
  'editor-font-family': 'Consolas, "Droid Sans Mono", "monospace", monospace',
  'editor-font-weight': 'normal',
  'editor-font-size': '14px',
};

export const DARK_MODERN: WebviewTheme = {
  kind: 'vscode-dark',
  variables: {
    ...FONTS,
    'foreground': '#cccccc',
    'descriptionForeground': '#9d9d9d',
    'errorForeground': '#f85149',
    'focusBorder': '#0078d4',
    'icon-foreground': '#cccccc',
    'widget-border': '#313131',
    'sideBar-background': '#181818',
    'sideBar-foreground': '#cccccc',
    'sideBarSectionHeader-background': '#181818',
    'sideBarSectionHeader-foreground': '#cccccc',
    'sideBarSectionHeader-border': '#2b2b2b',
    'sideBarTitle-foreground': '#cccccc',
    'panel-border': '#2b2b2b',
    'button-background': '#0078d4',
    'button-foreground': '#ffffff',
    'button-border': '#ffffff1a',
    'button-hoverBackground': '#026ec1',
    'button-secondaryBackground': '#00000000',
    'button-secondaryForeground': '#cccccc',
    'button-secondaryHoverBackground': '#2b2b2b',
    'badge-background': '#616161',
    'badge-foreground': '#f8f8f8',
    'input-background': '#313131',
    'input-border': '#3c3c3c',
    'progressBar-background': '#0078d4',
    'editorWarning-foreground': '#cca700',
    'testing-iconPassed': '#73c991',
    'textLink-foreground': '#4daafc',
    'textLink-activeForeground': '#4daafc',
    'textCodeBlock-background': '#2b2b2b',
    'textPreformat-foreground': '#d0d0d0',
    'editor-background': '#1f1f1f',
    'editor-foreground': '#cccccc',
  },
};

export const LIGHT_MODERN: WebviewTheme = {
  kind: 'vscode-light',
  variables: {
    ...FONTS,
    'foreground': '#3b3b3b',
    'descriptionForeground': '#3b3b3b',
    'errorForeground': '#f85149',
    'focusBorder': '#005fb8',
    'icon-foreground': '#3b3b3b',
    'widget-border': '#e5e5e5',
    'sideBar-background': '#f8f8f8',
    'sideBar-foreground': '#3b3b3b',
    'sideBarSectionHeader-background': '#f8f8f8',
    'sideBarSectionHeader-foreground': '#3b3b3b',
    'sideBarSectionHeader-border': '#e5e5e5',
    'sideBarTitle-foreground': '#3b3b3b',
    'panel-border': '#e5e5e5',
    'button-background': '#005fb8',
    'button-foreground': '#ffffff',
    'button-border': '#0000001a',
    'button-hoverBackground': '#0258a8',
    'button-secondaryBackground': '#e5e5e5',
    'button-secondaryForeground': '#3b3b3b',
    'button-secondaryHoverBackground': '#cccccc',
    'badge-background': '#cccccc',
    'badge-foreground': '#3b3b3b',
    'input-background': '#ffffff',
    'input-border': '#cecece',
    'progressBar-background': '#005fb8',
    'editorWarning-foreground': '#bf8803',
    'testing-iconPassed': '#388a34',
    'textLink-foreground': '#005fb8',
    'textLink-activeForeground': '#005fb8',
    'textCodeBlock-background': '#f8f8f8',
    'textPreformat-foreground': '#3b3b3b',
    'editor-background': '#ffffff',
    'editor-foreground': '#3b3b3b',
  },
};
