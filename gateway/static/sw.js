// mfa-gateway service worker (served at /sw.js, scope /).
//
// It only shows the sign-in approval notifications the gateway sends by Web Push (RFC 8030,
// encrypted with RFC 8291; the browser decrypts before this code sees the data). The payload
// is JSON: {"title": "...", "body": "...", "url": "/portal/...", "tag": "..."}; every field
// is optional. A click focuses a window already showing that url or opens it. No fetch
// handler and no cache: the portal's pages always come from the server.
'use strict';

const DEFAULT_URL = '/portal';
const ICON = '/static/icon.svg';

self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

// Only urls of this origin: a notification never sends the person elsewhere.
function sameOriginUrl(raw) {
  try {
    const url = new URL(typeof raw === 'string' && raw !== '' ? raw : DEFAULT_URL, self.location.origin);
    if (url.origin === self.location.origin) {
      return url.href;
    }
  } catch (e) {
    // not a url: fall through to the default
  }
  return new URL(DEFAULT_URL, self.location.origin).href;
}

function text(value, fallback, max) {
  return typeof value === 'string' && value !== '' ? value.slice(0, max) : fallback;
}

self.addEventListener('push', (event) => {
  let data = {};
  if (event.data) {
    try {
      const parsed = event.data.json();
      if (parsed && typeof parsed === 'object') {
        data = parsed;
      }
    } catch (e) {
      data = { body: event.data.text() };
    }
  }
  const options = {
    body: text(data.body, '', 500),
    icon: ICON,
    badge: ICON,
    data: { url: sameOriginUrl(data.url) },
    requireInteraction: true,
  };
  // One notification per approval: a newer push with the same tag replaces the older one.
  if (typeof data.tag === 'string' && data.tag !== '') {
    options.tag = data.tag.slice(0, 100);
    options.renotify = true;
  }
  event.waitUntil(
    self.registration.showNotification(text(data.title, 'mfa-gateway', 100), options),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const url = sameOriginUrl(data.url);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const client of windows) {
        if (client.url === url && 'focus' in client) {
          return client.focus();
        }
      }
      return self.clients.openWindow(url);
    })(),
  );
});
