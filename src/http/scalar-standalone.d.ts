// wrangler.toml's module rule imports the Scalar standalone bundle as text (type "Text"), not as code.
declare module "@scalar/api-reference/browser/standalone.js" {
  const source: string;
  export default source;
}
