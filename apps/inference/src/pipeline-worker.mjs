// Entry of the pipeline thread: registers tsx's loader in this thread (hooks are per thread, and
// Node 20 does not apply --import to workers), then loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./pipeline-worker.ts");
