# English texts of the self-service portal (issue 15): My devices and its sections, adding
# and removing devices, recovery codes, My logins, "this was not me", and the security key
# step of the sign-in (key-*). Every key is also in ../nl/portal.ftl.

## Navigation
portal-nav-label = Portal
portal-nav-devices = My devices
portal-nav-logins = My logins
portal-nav-approvals = Sign-in requests

## My devices
portal-devices-title = My devices
portal-devices-intro = Signed in as { $name }. Any of these can confirm it is you when you sign in: a phone or token by its code, a security key by a touch.
portal-no-devices = No devices are linked to your account.
portal-device-name = Name
portal-device-added = added
portal-last-used = last used
portal-expires = expires
portal-rename = Rename
portal-remove = Remove…
portal-kind-phone = Phone app
portal-kind-token = Hardware token { $serial }
portal-kind-key = Security key
portal-kind-push = Sign-in requests (notifications)
portal-state-active = active
portal-state-disabled = disabled
portal-state-in-stock = in stock
portal-state-removed = removed
portal-add-phone = Add a phone
portal-add-phone-text = Use an authenticator app on your phone (for example FreeOTP, Google Authenticator or Microsoft Authenticator).
portal-add-key = Add a security key or passkey
portal-add-key-text = A security key (for example a YubiKey) or a passkey on this computer or phone. It works in the browser only, not for VPN or Wi-Fi sign-in.
portal-add-key-placeholder = my security key
portal-token-heading = Link a hardware token
portal-token-serial = Serial number (on the back of the token)
portal-token-placeholder = my token
portal-token-code = Current code
portal-token-button = Link token
portal-recovery-heading = Recovery codes
portal-recovery-text = If you lose your phone, a recovery code signs you in once instead of a code.
portal-recovery-left = Unused recovery codes:
portal-recovery-replace = New codes replace all old ones.
portal-recovery-button = Make new recovery codes
portal-language-heading = Language
portal-language-label = Language of the portal, your e-mails and sign-in messages
portal-language-org = Your organisation's language
portal-language-nl = Nederlands
portal-language-en = English
portal-language-save = Save the language
portal-error-phone-expired = The new phone's key has expired. Choose Add a phone to start again.
portal-error-key-too-slow = Adding the security key took too long. Choose Add a security key or passkey to start again.

## Signed-in browsers (single sign-on)
portal-sso-heading = Signed-in browsers
portal-sso-intro = Browsers where a sign-in lets applications in without asking again (single sign-on). Signing one out tells the applications it served.
portal-sso-none = No browser is signed in with single sign-on.
portal-sso-signed-in = Signed in
portal-sso-this-browser = (this browser)
portal-sso-methods = methods
portal-sso-applications = Applications:
portal-sso-no-applications = none yet
portal-sso-end = Sign out this browser
portal-sso-end-all = Sign out everywhere

## Remembered browsers
portal-remembered-heading = Remembered browsers
portal-remembered-intro = These browsers ask for your password but not for a code when you sign in.
portal-remembered-intro-admin = Browsers this person asked to remember: they ask for the password but not for a code.
portal-remembered-none = None now.
portal-remembered-since = remembered
portal-forget = Forget this browser
portal-forget-all = Forget all

## Add a phone
portal-phone-intro = Scan this code with the authenticator app, or type the key in. Then enter the code the app shows. The key is only saved once the code is right, and is forgotten after 10 minutes.
portal-phone-qr = QR code of the key shown below as text
portal-phone-key = Key:
portal-phone-placeholder = my phone
portal-phone-code = Code from the app
portal-phone-save = Save phone

## Add a security key
portal-key-intro = Choose Add, then insert and touch your security key, or confirm on this device to make a passkey. It will be named “{ $label }”.
portal-key-add = Add
portal-cancel = Cancel

## Remove a device
portal-remove-title = Remove a device
portal-remove-heading = Remove { $label }
portal-remove-intro = To remove it, enter the current code from another of your devices.
portal-remove-key-intro = To remove it, use another of your security keys.
portal-remove-code = Code from another device
portal-remove-confirm = Remove
portal-remove-use-key = Use a security key instead
portal-remove-no-other-key = You have no other security key. Enter a code from another device.
portal-remove-key-expired = The security key request expired. Try again.
portal-keep = Keep it

## Recovery codes
portal-recovery-title = Your recovery codes
portal-recovery-intro = Write these down or print them, and keep them somewhere safe. Each signs you in once in place of a code. They are shown only now; your old codes no longer work.
portal-done = Done

## My logins
portal-logins-title = My logins
portal-logins-intro = Your most recent sign-in attempts, newest first. If you see one that was not you, change your password and tell your administrator.
portal-logins-time = Time
portal-logins-channel = Channel
portal-logins-client = Client
portal-logins-from = From
portal-logins-device = Device
portal-logins-outcome = Outcome
portal-outcome-with-reason = { $outcome } ({ $reason })
portal-outcome-confirms = { $outcome }, to confirm: { $what }
portal-outcome-accept = accept
portal-outcome-reject = reject
portal-outcome-challenge = code asked
portal-outcome-done = done
portal-outcome-failed = failed
portal-channel-radius = VPN or Wi-Fi (RADIUS)
portal-channel-oidc = web sign-in
portal-channel-portal = portal
portal-channel-cli = command line
portal-channel-system = system
portal-channel-api = API
portal-channel-directory = directory
portal-confirms-add-phone = add phone
portal-confirms-link-token = link token
portal-confirms-step-up = add a device
portal-confirms-remove-device = remove device
portal-confirms-password-reset = password reset
portal-reason-unknown-user = unknown user
portal-reason-no-password = no password
portal-reason-bad-password = bad password
portal-reason-person-disabled = account disabled
portal-reason-person-removed = account removed
portal-reason-locked-out = locked out
portal-reason-no-device = no device
portal-reason-missing-code = missing code
portal-reason-bad-code = bad code
portal-reason-replayed-code = code used before
portal-reason-rate-limited = too many attempts
portal-reason-overloaded = server busy
portal-reason-challenge-expired = took too long
portal-reason-approval-denied = denied on the phone
portal-reason-approval-timed-out = not approved in time
portal-reason-approval-not-me = "this was not me" on the phone
portal-reason-approval-replaced = a newer request
portal-reason-too-many-prompts = too many requests
portal-reason-approvals-locked = requests paused
portal-reason-bad-key = security key not accepted
portal-reason-password-throttled = too many wrong passwords
portal-reason-person-blocked = account blocked
portal-reason-unavailable = service unavailable
portal-reason-directory-disabled = directory account disabled
portal-reason-directory-locked = directory account locked
portal-reason-directory-password = directory password must be changed
portal-reason-directory-not-in-group = not in the required group
portal-reason-factor-not-allowed = device kind not allowed
portal-reason-source-not-allowed = address not allowed
portal-reason-approvals-not-allowed = requests not allowed

## Confirm it is you (step-up)
portal-step-up-title = Confirm it is you
portal-step-up-intro = Before a new phone, token, key or recovery codes are added to your account, enter the current code from one of the devices you already use (or a recovery code).
portal-step-up-code = Code from one of your devices
portal-step-up-confirm = Confirm
portal-back = Back to My devices

## This was not me
portal-not-me-title = Disable a device
portal-not-me-heading = Was this device not added by you?
portal-not-me-linked = The device "{ $label }" was linked to your account. If you did not do this, disable it now: it can then no longer be used to sign in, and this is recorded in the audit trail.
portal-not-me-button = Disable this device
portal-not-me-gone-title = Link not valid
portal-not-me-gone-text = This link is not valid, or the device was already disabled or removed. If you think someone else has access to your account, tell your organisation's administrator or the helpdesk at once.
portal-not-me-done-title = Device disabled
portal-not-me-done-text = The device "{ $label }" was disabled and can no longer be used to sign in. Your administrator can see this in the audit trail. If you think someone knows your password, change it and tell your administrator.
portal-not-me-expired = Your session expired. Open the link from the e-mail again.
portal-not-me-bad-form = The form was not sent from this page. Open the link from the e-mail again.

## Refusals and signing out
portal-refused-title = Request refused
portal-not-signed-in = You are not signed in to the portal, or your session expired. Sign in again.
portal-bad-form = The form was not sent from this portal page. Go back to the portal and try again.
portal-bad-language = Choose Nederlands, English or your organisation's language.
portal-signed-out-title = Signed out
portal-signed-out-text = You have signed out of the portal.

## The security key step of the sign-in, and every security key form
key-login-title = Use your security key
key-login-intro = Signing in to { $client }. Choose Use security key, then touch your key or confirm on this device.
key-use = Use security key
key-use-code = Enter a code instead
key-unsupported = This browser cannot use security keys. Go back and use a code instead.
key-no-script = Security keys need JavaScript, which is off in this browser. Go back and use a code instead.
