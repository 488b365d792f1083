// esbuild's `text` loader: `import styles from './x.css'` gives the bundled stylesheet as a string.
declare module '*.css' {
  const text: string;
  export default text;
}
