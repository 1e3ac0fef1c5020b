// Browser plumbing for the driver app that is far shorter in JS than through
// web-sys: IndexedDB (promises over its request/transaction callbacks, Blobs
// stored as they are), image resizing, hashing, multipart upload, geolocation,
// Background Sync and barcode detection. No logic lives here: what to store,
// when to send and how to retry is decided by the Rust modules (driver::queue,
// driver::sync, driver::gps), which call these functions.

const DB_NAME = "doorstep-driver";
const DB_VERSION = 1;
let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const open = indexedDB.open(DB_NAME, DB_VERSION);
      open.onupgradeneeded = () => {
        const d = open.result;
        if (!d.objectStoreNames.contains("kv")) d.createObjectStore("kv");
        // Auto-increment keys never repeat, even after deletions: they give the queue its order.
        if (!d.objectStoreNames.contains("queue")) d.createObjectStore("queue", { autoIncrement: true });
        if (!d.objectStoreNames.contains("blobs")) d.createObjectStore("blobs");
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
  }
  return dbPromise;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
}

function result(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export async function kvGet(key) {
  const tx = (await db()).transaction("kv", "readonly");
  const value = await result(tx.objectStore("kv").get(key));
  return value === undefined ? null : value;
}

export async function kvPut(key, value) {
  const tx = (await db()).transaction("kv", "readwrite");
  tx.objectStore("kv").put(value, key);
  await done(tx);
}

/// Adds `next` to the counter `key` and returns the value before, in one
/// transaction: a number handed out is never handed out again.
export async function kvReserve(key, count) {
  const tx = (await db()).transaction("kv", "readwrite");
  const store = tx.objectStore("kv");
  const current = (await result(store.get(key))) ?? 1;
  store.put(current + count, key);
  await done(tx);
  return current;
}

/// Stores the blobs, then the queue item, in one transaction; returns the item's id.
export async function queueAdd(json, blobKeys, blobs) {
  const tx = (await db()).transaction(["queue", "blobs"], "readwrite");
  for (let i = 0; i < blobKeys.length; i++) tx.objectStore("blobs").put(blobs[i], blobKeys[i]);
  const id = await result(tx.objectStore("queue").add(json));
  await done(tx);
  return id;
}

export async function queuePut(id, json) {
  const tx = (await db()).transaction("queue", "readwrite");
  tx.objectStore("queue").put(json, id);
  await done(tx);
}

/// Deletes the queue items and their blobs in one transaction.
export async function queueDelete(ids, blobKeys) {
  const tx = (await db()).transaction(["queue", "blobs"], "readwrite");
  for (const id of ids) tx.objectStore("queue").delete(id);
  for (const key of blobKeys) tx.objectStore("blobs").delete(key);
  await done(tx);
}

/// Every queue item as `[id, json]`, oldest first.
export async function queueAll() {
  const tx = (await db()).transaction("queue", "readonly");
  const store = tx.objectStore("queue");
  const [keys, values] = await Promise.all([result(store.getAllKeys()), result(store.getAll())]);
  return keys.map((k, i) => [k, values[i]]);
}

export async function blobGet(key) {
  const tx = (await db()).transaction("blobs", "readonly");
  return (await result(tx.objectStore("blobs").get(key))) ?? null;
}

/// A camera photo scaled down to `maxPx` on its longer side and re-encoded as JPEG.
export async function resizePhoto(file, maxPx, quality) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, maxPx / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return canvas.convertToBlob({ type: "image/jpeg", quality });
}

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/// POSTs `fields` then the file as multipart/form-data (the S3 presigned-POST
/// order). The bearer token goes only to our own origin. Returns the status.
export async function uploadMultipart(url, fields, blob, fileName, token) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields || {})) form.append(name, value);
  form.append("file", blob, fileName);
  const target = new URL(url, location.href);
  const headers = target.origin === location.origin && token ? { authorization: `Bearer ${token}` } : {};
  const response = await fetch(target, { method: "POST", body: form, headers });
  return response.status;
}

/// Calls `onPosition(lat, lon, accuracy, speed, heading, timestampMs)` for
/// every fix; returns the watch id.
export function watchPosition(onPosition, onError) {
  if (!("geolocation" in navigator)) return -1;
  return navigator.geolocation.watchPosition(
    (p) => onPosition(p.coords.latitude, p.coords.longitude, p.coords.accuracy, p.coords.speed, p.coords.heading, p.timestamp),
    (e) => onError(e.message || String(e.code)),
    { enableHighAccuracy: true, maximumAge: 5_000, timeout: 60_000 },
  );
}

export function clearWatch(id) {
  if (id >= 0 && "geolocation" in navigator) navigator.geolocation.clearWatch(id);
}

export async function batteryPercent() {
  try {
    if (!navigator.getBattery) return null;
    const battery = await navigator.getBattery();
    return Math.round(battery.level * 100);
  } catch {
    return null;
  }
}

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((e) => console.warn("service worker not registered", e));
}

/// Asks for a Background Sync; false where the browser has none.
export async function requestBackgroundSync() {
  try {
    if (!("serviceWorker" in navigator)) return false;
    const registration = await navigator.serviceWorker.ready;
    if (!registration.sync) return false;
    await registration.sync.register("doorstep-queue");
    return true;
  } catch {
    return false;
  }
}

/// The service worker's `sync` event asks the open app to drain: `drain()`
/// returns a promise of the number of items still waiting.
export function onDrainRequest(drain) {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (!event.data || event.data.type !== "doorstep-drain" || !event.ports[0]) return;
    const port = event.ports[0];
    drain().then((remaining) => port.postMessage({ remaining }), () => port.postMessage({ remaining: -1 }));
  });
}

export function hasBarcodeDetector() {
  return "BarcodeDetector" in globalThis;
}

/// The first barcode or QR code found in a photo, or null.
export async function detectBarcode(file) {
  if (!hasBarcodeDetector()) return null;
  const bitmap = await createImageBitmap(file);
  try {
    const codes = await new BarcodeDetector().detect(bitmap);
    return codes.length ? codes[0].rawValue : null;
  } finally {
    bitmap.close();
  }
}
