import type { Job } from "@easel/sdk";
import { describe, expect, it } from "vitest";
import { galleryItems } from "./gallery.ts";

const job: Job = {
  id: "job_abcdefgh12",
  object: "job",
  status: "succeeded",
  model: "tiny",
  input: { prompt: "a red circle", num_images: 2 },
  seed: 7,
  images: [
    { format: "png", width: 64, height: 64, seed: 7, b64_json: "iVBORw0KGgo=", url: "http://x/0" },
    { format: "jpeg", width: 64, height: 64, seed: 8, url: "https://bucket/1.jpg" },
  ],
  error: null,
  progress: null,
  created_at: "2025-01-01T00:00:00Z",
  completed_at: "2025-01-01T00:00:01Z",
};

describe("galleryItems", () => {
  it("prefers base64 data URLs (local stores need the key) and falls back to the URL", () => {
    expect(galleryItems(job).map((item) => item.src)).toEqual([
      "data:image/png;base64,iVBORw0KGgo=",
      "https://bucket/1.jpg",
    ]);
  });

  it("carries each image's own seed, the prompt, the job id and a download name", () => {
    const [first, second] = galleryItems(job);
    expect(first).toMatchObject({ jobId: "job_abcdefgh12", prompt: "a red circle", seed: 7 });
    expect(second).toMatchObject({ seed: 8, index: 1, count: 2, fileName: "job_abcdefgh12-1.jpg" });
  });

  it("skips an image that has neither bytes nor a URL", () => {
    const bare: Job = { ...job, images: [{ format: "png", width: 64, height: 64, seed: 1 }] };
    expect(galleryItems(bare)).toEqual([]);
  });
});
