// mfa-gateway portal: turn on sign-in approval notifications on this device (Web Push).
//
// The page provides (no inline script; load with <script src="/static/push.js" defer>):
//   <section id="push-optin" data-vapid-key="<VAPID public key, base64url>"
//            data-subscribe-url="/portal/push/subscribe">
//     <input type="hidden" name="csrf" value="<session CSRF token>">
//     <input type="text" id="push-label" name="label">   (optional: the device's name)
//     <button type="button" id="push-enable">Turn on notifications</button>
//     <p id="push-status" role="status"></p>
//   </section>
// On load it registers /sw.js. On a click it asks for permission, subscribes with the
// VAPID key and POSTs (application/x-www-form-urlencoded, same origin, with the session
// cookie) csrf=<token>&subscription=<PushSubscription.toJSON() as JSON>[&label=<name>] to
// data-subscribe-url. A 2xx (or a redirect to a 2xx page) is success; after a redirect the
// page follows it.
'use strict';

(function () {
  const root = document.getElementById('push-optin');
  if (!root) {
    return;
  }
  const button = document.getElementById('push-enable');
  const status = document.getElementById('push-status');

  function say(message, isError) {
    if (status) {
      status.textContent = message;
      status.className = isError ? 'error' : '';
    }
  }

  function fromBase64Url(value) {
    const base64 = value.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const raw = atob(padded);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function sameBytes(buffer, bytes) {
    if (!buffer) {
      return false;
    }
    const a = new Uint8Array(buffer);
    if (a.length !== bytes.length) {
      return false;
    }
    return a.every((b, i) => b === bytes[i]);
  }

  const supported =
    'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  if (!supported) {
    if (button) {
      button.disabled = true;
    }
    say(
      'This browser cannot receive notifications. On an iPhone or iPad, add the portal to the ' +
        'home screen first (Share, then Add to Home Screen) and open it from there.',
      true,
    );
    return;
  }
  if (Notification.permission === 'denied') {
    say('Notifications are blocked for this site. Allow them in the browser settings first.', true);
  }

  const registration = navigator.serviceWorker.register('/sw.js', { scope: '/' });
  registration.catch(() => {
    say('The notification service could not be started on this device.', true);
  });

  async function enable() {
    const vapidKey = root.dataset.vapidKey || '';
    const url = root.dataset.subscribeUrl || '';
    const csrfInput = root.querySelector('input[name="csrf"]') ||
      document.querySelector('input[name="csrf"]');
    if (vapidKey === '' || url === '' || !csrfInput) {
      say('This page is missing its settings; reload it and try again.', true);
      return;
    }
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      say('Notifications were not allowed, so approvals cannot reach this device.', true);
      return;
    }
    say('Setting up notifications...', false);
    const key = fromBase64Url(vapidKey);
    await registration;
    const ready = await navigator.serviceWorker.ready;
    let subscription = await ready.pushManager.getSubscription();
    if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
      // Subscribed under an older gateway key: replace it.
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      // A browser that cannot reach its push service never answers: give up after 30 s.
      const timeout = new Promise((resolve, reject) => {
        setTimeout(() => reject(new Error('push service timeout')), 30000);
      });
      subscription = await Promise.race([
        ready.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
        timeout,
      ]);
    }
    const form = new URLSearchParams();
    form.set('csrf', csrfInput.value);
    form.set('subscription', JSON.stringify(subscription.toJSON()));
    const label = document.getElementById('push-label');
    if (label && label.value.trim() !== '') {
      form.set('label', label.value.trim());
    }
    const current = document.getElementById('push-current-code');
    if (current && current.value.trim() !== '') {
      form.set('current_code', current.value.trim());
    }
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    if (response.status === 403) {
      say('Enter the current code from one of the devices you already use, then try again.', true);
      return;
    }
    if (!response.ok) {
      say('The gateway did not accept this device (' + response.status + '). Reload and try again.', true);
      return;
    }
    say('Notifications are on: sign-in approvals will appear on this device.', false);
    if (response.redirected) {
      window.location.assign(response.url);
    }
  }

  if (button) {
    button.addEventListener('click', () => {
      button.disabled = true;
      enable()
        .catch(() => {
          say('Notifications could not be turned on for this device.', true);
        })
        .finally(() => {
          button.disabled = false;
        });
    });
  }
})();
