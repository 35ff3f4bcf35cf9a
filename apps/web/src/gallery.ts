import type { Job } from "@easel/sdk";
import { el } from "./dom.ts";

/** One finished image as the gallery shows it. */
export interface GalleryItem {
  jobId: string;
  prompt: string;
  seed: number;
  width: number;
  height: number;
  /** A data URL (base64 from the job) or, failing that, the image's URL. */
  src: string;
  /** Position in the job (0-based) and the job's image count, for "2 of 4". */
  index: number;
  count: number;
  /** File name offered by the download link. */
  fileName: string;
}

/**
 * The gallery items of a finished job. Images come as base64 data URLs because the local store's
 * file route needs the API key, which an `<img src>` cannot send.
 *
 * @example
 * galleryItems(job).map((item) => item.src); // ["data:image/png;base64,iVBOR..."]
 */
export function galleryItems(job: Job): GalleryItem[] {
  return job.images.flatMap((image, index) => {
    const mime = image.format === "jpeg" ? "image/jpeg" : `image/${image.format}`;
    const src = image.b64_json ? `data:${mime};base64,${image.b64_json}` : image.url;
    if (!src) return [];
    return [
      {
        jobId: job.id,
        prompt: job.input.prompt,
        seed: image.seed,
        width: image.width,
        height: image.height,
        src,
        index,
        count: job.images.length,
        fileName: `${job.id}-${index}.${image.format === "jpeg" ? "jpg" : image.format}`,
      },
    ];
  });
}

/** Renders one gallery card: the image, its prompt, seed, size and job id, and a download link. */
export function renderGalleryCard(item: GalleryItem): HTMLLIElement {
  const card = el("li", "gallery-card");
  card.dataset["jobId"] = item.jobId;
  const figure = el("figure");
  const frame = el("div", "gallery-frame");
  const img = el("img");
  img.src = item.src;
  img.width = item.width;
  img.height = item.height;
  img.alt = `Generated image for “${item.prompt}”, seed ${item.seed}`;
  img.decoding = "async";
  frame.append(img);

  const caption = el("figcaption");
  const prompt = el("p", "gallery-prompt", item.prompt);
  prompt.title = item.prompt;
  const meta = el("dl", "gallery-meta");
  const facts: [string, string, string][] = [
    ["Seed", String(item.seed), "seed"],
    ["Size", `${item.width}×${item.height}`, "size"],
    ["Job", item.jobId, "job"],
  ];
  // A job's images share its seed (one noise draw, as in diffusers): the position tells them apart.
  if (item.count > 1) facts.splice(1, 0, ["Image", `${item.index + 1} of ${item.count}`, "index"]);
  for (const [term, value, kind] of facts) {
    const row = el("div");
    const dd = el("dd", "mono", value);
    dd.dataset["field"] = kind;
    dd.title = value;
    row.append(el("dt", undefined, term), dd);
    meta.append(row);
  }
  const download = el("a", "download", "Download");
  download.href = item.src;
  download.download = item.fileName;
  download.setAttribute("aria-label", `Download ${item.fileName}`);
  caption.append(prompt, meta, download);
  figure.append(frame, caption);
  card.append(figure);
  return card;
}
