// Doorstep's service worker. `cargo xtask build-web` fills in the cache name
// (a hash of the cached files, so a new build installs a new cache and the old
// one is dropped) and the list of files the driver app needs offline.
const CACHE = "__DOORSTEP_CACHE__";
const PRECACHE = ["__DOORSTEP_PRECACHE__"];
const SYNC_TAG = "doorstep-queue";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("doorstep-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  // The API is never cached here: the app keeps its own copy of the route in IndexedDB.
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  // Customer tracking pages are a separate, live page: never the app's shell.
  if (url.pathname.startsWith("/t/") || url.pathname.startsWith("/track")) return;
  if (request.mode === "navigate") {
    // Network first so a new deployment shows at once; the cached shell when offline.
    event.respondWith(fetch(request).catch(() => caches.open(CACHE).then((cache) => cache.match("/index.html"))));
    return;
  }
  event.respondWith(caches.open(CACHE).then((cache) => cache.match(request).then((hit) => hit || fetch(request))));
});

// Background Sync: the queue lives in IndexedDB and is drained by the app
// (its logic is Rust); the service worker wakes an open app to drain it and
// keeps the sync pending (so the browser retries later) until it reports the
// queue empty.
self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((windows) => {
      if (windows.length === 0) return Promise.reject(new Error("no open app to drain the queue"));
      return new Promise((resolve, reject) => {
        const channel = new MessageChannel();
        const timer = setTimeout(() => reject(new Error("queue drain timed out")), 60_000);
        channel.port1.onmessage = (message) => {
          clearTimeout(timer);
          if (message.data && message.data.remaining === 0) resolve();
          else reject(new Error(`${message.data?.remaining} queued items remain`));
        };
        windows[0].postMessage({ type: "doorstep-drain" }, [channel.port2]);
      });
    }),
  );
});
