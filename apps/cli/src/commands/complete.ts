import { Command, Option } from "clipanion";
import { completeVerb } from "../completion/scripts.js";
import type { CliContext } from "../context.js";

/**
 * `__complete WORD...`: what the completion scripts call. The words are those after the
 * program name, the last one the word under the cursor ("" for a new one); prints the
 * candidates, one a line, `word<TAB>description` when there is one. No `usage`: hidden from help
 * and from its own candidates.
 */
export class CompleteCommand extends Command<CliContext> {
  static override paths = [[completeVerb]];

  words = Option.Proxy();

  override async execute(): Promise<number> {
    const [{ offerFor, startingWith }, { verbsOf }, { processCandidates }, { commands }, cli] =
      await Promise.all([
        import("../completion/complete-words.js"),
        import("../completion/verb-syntax.js"),
        import("../completion/process-names.js"),
        import("./index.js"),
        import("../cli.js"),
      ]);
    const offer = await offerFor(this.words, verbsOf([...commands, ...cli.builtinCommands]));
    let candidates = offer.kind === "words" ? offer.candidates : [];
    if (offer.kind === "processes") {
      const live = await processCandidates(this.context, offer.address);
      const exclude = new Set(offer.exclude);
      candidates = startingWith(live, offer.prefix).filter((c) => !exclude.has(c.word));
    }
    for (const c of candidates) {
      const description = c.description.replace(/\s+/g, " ").trim();
      this.context.stdout.write(description === "" ? `${c.word}\n` : `${c.word}\t${description}\n`);
    }
    return 0;
  }
}
