/**
 * The pipeline's own thread. onnxruntime-node runs each model call synchronously on the calling
 * thread (a 512x512 VAE decode blocked the event loop for 0.8 s in a measurement), so the service
 * keeps HTTP, SSE, health and cancellation on the main thread and runs the model here.
 * The protocol is in pipeline-protocol.ts; pipeline-generator.ts is the other end.
 */
import { parentPort } from "node:worker_threads";
import { loadPipeline, type StableDiffusionPipeline } from "@easel/pipeline";
import { serializeError, type ToMain, type ToWorker } from "./pipeline-protocol.ts";

const port = parentPort;
if (!port) throw new Error("pipeline-worker.ts must run in a worker thread");

let pipe: StableDiffusionPipeline | null = null;
const running = new Map<number, AbortController>();
const send = (message: ToMain, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on("message", (message: ToWorker) => {
  void handle(message).catch((error: unknown) => {
    send({ type: "error", id: "id" in message ? message.id : -1, error: serializeError(error) });
  });
});

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case "load": {
      pipe = await loadPipeline(message.dir, message.options);
      const size = pipe.info.sampleSize;
      // One step at the default size: sessions allocate their buffers now, not on the first request.
      await pipe.generate({ prompt: "warm up", steps: 1, seed: 0, width: size, height: size });
      send({ type: "loaded", id: message.id, info: pipe.info });
      return;
    }
    case "validate":
      loaded().validate(message.request);
      send({ type: "validated", id: message.id });
      return;
    case "generate": {
      const controller = new AbortController();
      running.set(message.id, controller);
      try {
        const results = await loaded().generateBatch(message.requests, {
          signal: controller.signal,
          previews: message.previews,
          onProgress: (event) =>
            send({
              type: "progress",
              id: message.id,
              step: event.step,
              total: event.total,
              previews: event.previews,
            }),
        });
        const images = results.map((r) => r.images);
        send(
          { type: "result", id: message.id, images },
          images.flat().map((image) => image.data.buffer as ArrayBuffer),
        );
      } finally {
        running.delete(message.id);
      }
      return;
    }
    case "abort":
      running.get(message.id)?.abort(new Error("aborted"));
      return;
    case "dispose":
      await pipe?.release();
      pipe = null;
      send({ type: "disposed", id: message.id });
      return;
  }
}

function loaded(): StableDiffusionPipeline {
  if (!pipe) throw new Error("the pipeline is not loaded yet");
  return pipe;
}
