// Vite's `?raw` imports: a file's text, for checks on the static pages in public/.
declare module "*?raw" {
  const text: string;
  export default text;
}
