// Vite's `?raw` suffix imports a file's text; tests use it to parse the shipped config.example.toml.
declare module "*?raw" {
  const text: string;
  export default text;
}
