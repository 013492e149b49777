//! The self-service portal's pages: my devices, add a phone, remove a device, my logins.
//! Server-rendered like the login pages: escaped values, no inline scripts (the security key
//! pages load /static/webauthn.js), every action a POST form carrying the session's CSRF
//! token.

use super::pages::{error_block, esc, key_form, layout, layout_with_script};
use crate::audit::{StoredEvent, format_time};
use crate::model::{Device, DeviceKind, DeviceState, UnixTime};
use axum::response::Html;

fn csrf_field(csrf: &str) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(csrf))
}

fn nav(csrf: &str, here: &str) -> String {
    let link = |href: &str, text: &str| {
        if href == here {
            format!(r#"<span class="here">{text}</span>"#)
        } else {
            format!(r#"<a href="{href}">{text}</a>"#)
        }
    };
    format!(
        r#"<nav>{devices} {logins}
<form method="post" action="/portal/logout" class="inline">{csrf}<button type="submit" class="link" id="logout">Sign out</button></form></nav>"#,
        devices = link("/portal", "My devices"),
        logins = link("/portal/logins", "My logins"),
        csrf = csrf_field(csrf),
    )
}

fn date(t: Option<UnixTime>) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| format_time(t).replace('T', " ").replace('Z', " UTC"),
    )
}

fn kind(d: &Device) -> String {
    match d.kind {
        DeviceKind::PhoneTotp => "Phone app".to_owned(),
        DeviceKind::HardwareToken => format!(
            "Hardware token {}",
            esc(d.serial.as_deref().unwrap_or_default())
        ),
        DeviceKind::SecurityKey => "Security key".to_owned(),
        DeviceKind::PushSubscription => "Sign-in requests (notifications)".to_owned(),
    }
}

fn state(s: DeviceState) -> &'static str {
    match s {
        DeviceState::Active => "active",
        DeviceState::Disabled => "disabled",
        DeviceState::InStock => "in stock",
        DeviceState::Removed => "removed",
    }
}

/// My devices: each linked device with rename and remove, then add a phone, link a token,
/// recovery codes.
pub fn devices(
    name: &str,
    csrf: &str,
    devices: &[Device],
    recovery_left: usize,
    error: Option<&str>,
    sections: &str,
) -> Html<String> {
    let mut rows = String::new();
    for d in devices {
        rows.push_str(&format!(
            r#"<li class="device" id="device-{id}">
<p class="label">{label}</p>
<p class="meta">{kind} · {state} · added {added} · last used {used}</p>
<form method="post" action="/portal/devices/{id}/rename" class="rename">{csrf}
<label for="label-{id}">Name</label>
<input type="text" id="label-{id}" name="label" value="{label}" maxlength="64" required>
<button type="submit" class="secondary" id="rename-{id}">Rename</button>
</form>
<form method="post" action="/portal/devices/{id}/remove">{csrf}
<button type="submit" class="danger" id="remove-{id}">Remove…</button>
</form>
</li>
"#,
            id = d.id,
            label = esc(&d.label),
            kind = kind(d),
            state = state(d.state),
            added = date(Some(d.created_at)),
            used = date(d.last_used_at),
            csrf = csrf_field(csrf),
        ));
    }
    if rows.is_empty() {
        rows.push_str("<li>No devices are linked to your account.</li>");
    }
    layout(
        "My devices",
        &format!(
            r#"{nav}
<h1>My devices</h1>
<p class="sub">Signed in as {name}. Any of these can confirm it is you when you sign in: a phone or token by its code, a security key by a touch.</p>
{error}
<ul class="devices">
{rows}</ul>
{sections}
<h2>Add a phone</h2>
<form method="post" action="/portal/devices/totp/new">{csrf}
<p>Use an authenticator app on your phone (for example FreeOTP, Google Authenticator or Microsoft Authenticator).</p>
<button type="submit" id="add-phone">Add a phone</button>
</form>
<h2>Add a security key or passkey</h2>
<form id="key-new-form" method="post" action="/portal/devices/key/new">{csrf}
<p>A security key (for example a YubiKey) or a passkey on this computer or phone. It works in the browser only, not for VPN or Wi-Fi sign-in.</p>
<label for="key-label">Name</label>
<input type="text" id="key-label" name="label" maxlength="64" placeholder="my security key" required>
<button type="submit" id="add-key">Add a security key or passkey</button>
</form>
<h2>Link a hardware token</h2>
<form id="token-form" method="post" action="/portal/devices/token">{csrf}
<label for="serial">Serial number (on the back of the token)</label>
<input type="text" id="serial" name="serial" autocomplete="off" spellcheck="false" required>
<label for="token-label">Name</label>
<input type="text" id="token-label" name="label" maxlength="64" placeholder="my token">
<label for="token-code">Current code</label>
<input type="text" id="token-code" name="code" class="code" inputmode="numeric" maxlength="8" autocomplete="off" required>
<button type="submit" id="link-token">Link token</button>
</form>
<h2>Recovery codes</h2>
<form method="post" action="/portal/recovery">{csrf}
<p>If you lose your phone, a recovery code signs you in once instead of a code. You have <span id="recovery-left">{recovery_left}</span> unused. New codes replace all old ones.</p>
<button type="submit" class="secondary" id="new-recovery">Make new recovery codes</button>
</form>"#,
            nav = nav(csrf, "/portal"),
            name = esc(name),
            error = error_block(error),
            csrf = csrf_field(csrf),
        ),
    )
}

/// Add a phone: the new secret as a QR code and as text, then its name and a current code.
pub fn add_phone(csrf: &str, qr_svg: &str, secret: &str, error: Option<&str>) -> Html<String> {
    layout(
        "Add a phone",
        &format!(
            r#"{nav}
<h1>Add a phone</h1>
<p class="sub">Scan this code with the authenticator app, or type the key in. Then enter the code the app shows. The key is only saved once the code is right, and is forgotten after 10 minutes.</p>
{error}
<div class="qr">{qr_svg}</div>
<p>Key: <code id="secret">{secret}</code></p>
<form id="confirm-form" method="post" action="/portal/devices/totp/confirm">{csrf}
<label for="label">Name</label>
<input type="text" id="label" name="label" maxlength="64" placeholder="my phone" required>
<label for="code">Code from the app</label>
<input type="text" id="code" name="code" class="code" inputmode="numeric" pattern="[0-9]*" maxlength="8" autocomplete="off" required>
<button type="submit" id="confirm">Save phone</button>
</form>"#,
            nav = nav(csrf, ""),
            error = error_block(error),
            secret = esc(secret),
            csrf = csrf_field(csrf),
        ),
    )
}

/// Add a security key: the button that asks the browser for it (needs JavaScript).
pub fn add_key(csrf: &str, label: &str, options_json: &str) -> Html<String> {
    layout_with_script(
        "Add a security key",
        &format!(
            r#"{nav}
<h1>Add a security key or passkey</h1>
<p class="sub">Choose Add, then insert and touch your security key, or confirm on this device to make a passkey. It will be named “{label}”.</p>
{form}
<p><a href="/portal">Cancel</a></p>"#,
            nav = nav(csrf, ""),
            label = esc(label),
            form = key_form(
                "key-add-form",
                "create",
                "/portal/devices/key/confirm",
                csrf,
                options_json,
                "Add"
            ),
        ),
    )
}

/// Confirm a removal with another security key (needs JavaScript).
pub fn remove_with_key(csrf: &str, device: &Device, options_json: &str) -> Html<String> {
    layout_with_script(
        "Remove a device",
        &format!(
            r#"{nav}
<h1>Remove {label}</h1>
<p class="sub">To remove it, use another of your security keys.</p>
{form}
<p><a href="/portal">Keep it</a></p>"#,
            nav = nav(csrf, ""),
            label = esc(&device.label),
            form = key_form(
                "key-remove-form",
                "get",
                &format!("/portal/devices/{}/remove/key/finish", device.id),
                csrf,
                options_json,
                "Use security key"
            ),
        ),
    )
}

/// Remove a device: asks for a code from another device, or (`key`: the person has another
/// security key) that key.
pub fn remove(csrf: &str, device: &Device, key: bool, error: Option<&str>) -> Html<String> {
    let key_choice = if key {
        format!(
            r#"<form method="post" action="/portal/devices/{id}/remove/key">{csrf}
<button type="submit" class="secondary" id="remove-with-key">Use a security key instead</button>
</form>
"#,
            id = device.id,
            csrf = csrf_field(csrf),
        )
    } else {
        String::new()
    };
    layout(
        "Remove a device",
        &format!(
            r#"{nav}
<h1>Remove {label}</h1>
<p class="sub">To remove it, enter the current code from another of your devices.</p>
{error}
<form id="remove-form" method="post" action="/portal/devices/{id}/remove">{csrf}
<label for="code">Code from another device</label>
<input type="text" id="code" name="code" class="code" inputmode="numeric" maxlength="8" autocomplete="off" required>
<button type="submit" class="danger" id="confirm-remove">Remove</button>
</form>
{key_choice}<p><a href="/portal">Keep it</a></p>"#,
            nav = nav(csrf, ""),
            label = esc(&device.label),
            id = device.id,
            error = error_block(error),
            csrf = csrf_field(csrf),
        ),
    )
}

/// New recovery codes, shown this once.
pub fn recovery(csrf: &str, codes: &[&str]) -> Html<String> {
    let items: String = codes
        .iter()
        .map(|c| format!("<li><code>{}</code></li>\n", esc(c)))
        .collect();
    layout(
        "Recovery codes",
        &format!(
            r#"{nav}
<h1>Your recovery codes</h1>
<p class="sub">Write these down or print them, and keep them somewhere safe. Each signs you in once in place of a code. They are shown only now; your old codes no longer work.</p>
<ol id="recovery-codes">
{items}</ol>
<p><a href="/portal" id="done">Done</a></p>"#,
            nav = nav(csrf, ""),
        ),
    )
}

/// My logins: the person's own recent attempts.
pub fn logins(csrf: &str, events: &[StoredEvent]) -> Html<String> {
    let mut rows = String::new();
    for e in events {
        let e = &e.event;
        let mut outcome = match &e.reason {
            Some(r) => format!("{} ({})", e.outcome.as_str(), r.replace('_', " ")),
            None => e.outcome.as_str().to_owned(),
        };
        // A code asked for to confirm a change in the portal, not a sign-in.
        if let Some(what) = e
            .detail
            .as_ref()
            .and_then(|d| d.get("confirms"))
            .and_then(|c| c.as_str())
        {
            outcome.push_str(&format!(", to confirm: {}", what.replace('_', " ")));
        }
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&date(Some(e.time))),
            esc(e.channel.as_str()),
            esc(e.client.as_deref().unwrap_or("")),
            esc(e.source.as_deref().unwrap_or("")),
            esc(e.device_label.as_deref().unwrap_or("")),
            esc(&outcome),
        ));
    }
    layout(
        "My logins",
        &format!(
            r#"{nav}
<h1>My logins</h1>
<p class="sub">Your most recent sign-in attempts, newest first (times in UTC). If you see one that was not you, change your password and tell your administrator.</p>
<table id="logins">
<thead><tr><th>Time</th><th>Channel</th><th>Client</th><th>From</th><th>Device</th><th>Outcome</th></tr></thead>
<tbody>
{rows}</tbody>
</table>"#,
            nav = nav(csrf, "/portal/logins"),
        ),
    )
}

/// "Confirm it is you": a code from one of the person's current devices before a factor is
/// added; the form posts `action` again with `fields` kept.
pub fn step_up(
    csrf: &str,
    action: &str,
    fields: &[(&str, &str)],
    error: Option<&str>,
) -> Html<String> {
    let hidden: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                esc(k),
                esc(v)
            )
        })
        .collect();
    layout(
        "Confirm it is you",
        &format!(
            r#"<h1>Confirm it is you</h1>
<p>Before a new phone, token, key or recovery codes are added to your account, enter the
current code from one of the devices you already use (or a recovery code).</p>
{error}
<form id="step-up-form" method="post" action="{action}">
<input type="hidden" name="csrf" value="{csrf}">
{hidden}
<label for="current_code">Code from one of your devices</label>
<input type="text" id="current_code" name="current_code" class="code" inputmode="numeric" autocomplete="one-time-code" maxlength="11" required autofocus>
<button type="submit" id="step-up">Confirm</button>
</form>
<p><a href="/portal">Back to My devices</a></p>"#,
            error = error_block(error),
            action = esc(action),
            csrf = esc(csrf),
        ),
    )
}

/// "This was not me": confirm disabling the device named in the notice mail.
pub fn not_me(csrf: &str, action: &str, label: &str) -> Html<String> {
    layout(
        "Disable a device",
        &format!(
            r#"<h1>Was this device not added by you?</h1>
<p>The device <strong>{label}</strong> was linked to your account. If you did not do this,
disable it now: it can then no longer be used to sign in, and this is recorded in the audit trail.</p>
<form id="not-me-form" method="post" action="{action}">
<input type="hidden" name="csrf" value="{csrf}">
<button type="submit" id="not-me">Disable this device</button>
</form>"#,
            label = esc(label),
            action = esc(action),
            csrf = esc(csrf),
        ),
    )
}

/// The language of the person's e-mails and sign-in messages (their own, or None: their
/// organisation's).
pub fn language_form(csrf: &str, own: Option<crate::i18n::Lang>) -> String {
    let option = |value: &str, text: &str, lang: &str, selected: bool| {
        format!(
            r#"<option value="{value}" lang="{lang}"{}>{text}</option>"#,
            if selected { " selected" } else { "" }
        )
    };
    format!(
        r#"<h2 id="language-heading">Language</h2>
<form method="post" action="/portal/language" id="language-form">
<input type="hidden" name="csrf" value="{csrf}">
<label for="language">Language of your e-mails and sign-in messages</label>
<select id="language" name="language">
{org}{nl}{en}</select>
<button type="submit" class="secondary" id="save-language">Save the language</button>
</form>
"#,
        csrf = esc(csrf),
        org = option("org", "Your organisation's language", "en", own.is_none()),
        nl = option("nl", "Nederlands", "nl", own == Some(crate::i18n::Lang::Nl)),
        en = option("en", "English", "en", own == Some(crate::i18n::Lang::En)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_scripts_and_escaped() {
        let page = add_phone("c\"", "<svg></svg>", "<ABC>", Some("<b>")).0;
        assert!(!page.contains("<script"));
        assert!(page.contains("&lt;ABC&gt;"));
        assert!(page.contains("c&quot;"));
    }
}
