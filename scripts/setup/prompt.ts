import { createInterface } from "node:readline/promises";

/** How setup asks a person for what only they can supply. */
export interface Prompt {
  ask(question: string, options?: { secret?: boolean }): Promise<string>;
  confirm(question: string): Promise<boolean>;
}

/** A terminal prompt; a secret's characters are not echoed. */
export function terminalPrompt(): Prompt {
  const ask = async (question: string, options: { secret?: boolean } = {}) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    if (options.secret) {
      // readline echoes through _writeToOutput: past the question, print nothing.
      const internal = rl as unknown as { _writeToOutput: (text: string) => void; output: NodeJS.WritableStream };
      let shown = false;
      internal._writeToOutput = (text: string) => {
        if (!shown || text.includes("\n")) internal.output.write(shown ? "\n" : text);
        shown = true;
      };
    }
    try {
      return (await rl.question(question)).trim();
    } finally {
      rl.close();
    }
  };
  return {
    ask,
    confirm: async (question) => /^y(es)?$/i.test(await ask(`${question} [y/N] `)),
  };
}
