/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Gateway URL to prefill, e.g. `http://127.0.0.1:8787`. */
  readonly VITE_EASEL_BASE_URL?: string;
  /** API key to prefill (development only: it ends up in the built bundle). */
  readonly VITE_EASEL_API_KEY?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
