import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes SQL migrations into migrations/, which wrangler and the tests apply.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/store/schema.ts",
  out: "./migrations",
});
