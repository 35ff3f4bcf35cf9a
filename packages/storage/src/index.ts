export { createObjectStore, type StoreConfig, storeConfigFromEnv } from "./config.ts";
export { FsObjectStore } from "./fs.ts";
export { S3ObjectStore, type S3StoreOptions } from "./s3.ts";
export {
  assertValidKey,
  type ObjectStore,
  type PresignedUrl,
  StorageError,
  type StoredObject,
} from "./store.ts";
