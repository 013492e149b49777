# English texts of mfa-gateway (issue 15). Every key is also in ../nl/main.ftl; a test
# fails when one is missing there or when no code uses it.

## RADIUS
radius-reject = Access denied
radius-challenge-prompt = Enter the code from your phone or token

## Mail: a change made by the provider's operator
mail-account-subject = Your sign-in account: { $what }
mail-operator-body =
    { $what }.

    When: { $when }
    By: your provider's operator.

    If you did not ask for this, tell your organisation's administrator
    or the helpdesk at once.
mail-what-temporary-code = A temporary sign-in code was issued for your account (for a lost device)
mail-what-phone-linked = A phone named "{ $label }" was linked to your account
mail-what-device-removed = The device "{ $label }" was removed from your account
mail-what-token-linked = The hardware token { $serial } was linked to your account as "{ $label }"
mail-what-device-disabled-not-me = The device "{ $label }" was disabled on your account (you said it was not yours)
mail-what-device-renamed = Your device "{ $from }" was renamed to "{ $to }"
mail-what-recovery-codes = New recovery codes were made for your account; the old ones no longer work
mail-what-key-linked = A security key named "{ $label }" was linked to your account
mail-what-push-linked = "{ $label }" now gets your sign-in requests as notifications

## Mail: lines shared by the account notices
mail-when = When: { $when }
mail-from-portal = From: { $source }, in the self-service portal.
mail-unknown-address = an unknown address
mail-not-me-link = If this was not you, disable the device at once:
mail-tell-admin =
    If this was not you, tell your organisation's administrator
    or the helpdesk at once.
mail-hello = Hello { $name },

## Mail: a token resynchronised by an administrator
mail-resync-subject = Your token was resynchronised
mail-resync-body = An administrator resynchronised your token "{ $label }" at { $when }: it accepts its next code again.
mail-resync-not-asked = If you did not ask for this, tell your organisation's administrator.

## Mail: a new account's activation link
mail-activation-subject = Activate your sign-in account
mail-activation-body = An account was made for you. Open this link to set your password and link your phone (it works once, until { $until }):
mail-activation-not-expected = If you did not expect this, tell your organisation's administrator.

## Mail: a password reset
mail-reset-subject = Reset your password
mail-reset-body = Someone, hopefully you, asked to reset the password of your sign-in account { $username }. Open this link to choose a new one; you will also need a code from your phone or token. It works once, until { $until }:
mail-reset-ignore = If you did not ask for this, ignore this mail: your password stays as it is.
mail-reset-not-local-subject = Your password is your organisation's password
mail-reset-not-local-body = Someone, hopefully you, asked to reset the password of your sign-in account { $username }. Your account has no password of its own here: you sign in with your organisation's (Windows) password. Change or reset that password the way your organisation does (on your computer, or through your organisation's helpdesk). If your account is new, use the activation link from your invitation.
mail-reset-not-local-ignore = If you did not ask for this, ignore this mail.
mail-reset-done-subject = Your password was changed
mail-reset-done-body = The password of your sign-in account { $username } was changed at { $when } with the "Forgot password?" page. Your web sessions were signed out.

## Out-of-band approval: the phone's notification and the webhook's display text
push-title = Sign-in request
push-body = { $client } from { $source }: tap to approve or deny

## Account life cycle requests
request-kind-new-employee = New employee
request-kind-change-account = Change account
request-kind-remove-account = Remove account
request-kind-order-tokens = Order hardware tokens
request-kind-reserve-tokens = Reserve tokens
request-status-submitted = submitted
request-status-in-progress = in progress
request-status-done = done
request-status-rejected = rejected
request-status-cancelled = cancelled
mail-request-subject = Request { $id }: { $status }
mail-request-body = Request { $id } ({ $kind }) is now: { $status }.
mail-request-reason = Reason: { $reason }
mail-request-history = See the administration pages for its history.

## The sign-in page
login-title = Sign in
login-to = to { $client }
login-username = Username
login-password = Password
login-continue = Continue
login-forgot = Forgot password?
login-error-wrong = The username or password is not right, or this account cannot sign in here.
login-error-change-in-windows = Your Windows password has expired or must be changed. Change your password in Windows first, then sign in here with the new one.
login-error-too-many = Too many attempts. Wait a minute, then try again.
login-error-too-many-sessions = Too many sign-ins from your network at once. Wait a few minutes, then try again.
login-error-session-expired = Your session expired. Please sign in again.
login-error-too-slow = That took too long. Please sign in again.
login-error-too-many-codes = Too many wrong codes. Please sign in again.

## The code page (the second step)
code-title = Enter your code
code-intro = Open the authenticator app on any phone linked to your account, or press your token, and enter the code it shows. Signing in to { $client }.
code-label = Code
code-hint = Lost your phone? Enter one of your recovery codes instead.
code-remember = Remember this browser for { $days } days
code-submit = Sign in
code-use-key = Use a security key
code-send-request = Send a request to my phone
code-cancel = Cancel
code-error-wrong = That code is not right. Enter the current code from any phone or token linked to your account.
code-error-wrong-key = That security key was not accepted. Try again with a key linked to your account, or enter a code.
code-error-keys-unavailable = Security keys cannot be used on this server yet. Use a code, and tell your administrator.
code-error-no-key = No security key is linked to your account. Enter a code instead.
code-error-key-expired = The security key request expired. Choose Use a security key again.
code-error-not-approved = The request was not approved in time, or it was denied. Enter a code, or send a new request.

## Waiting for an approval on the phone
waiting-title = Approve on your phone
waiting-choose = On your phone, choose
waiting-sent = We sent a sign-in request for { $client } to your phone. Open it (or the portal's Sign-in requests page) and approve. This page goes on by itself.

## Shared by every page
time-never = never
nav-sign-out = Sign out
error-refused-title = Request refused
error-bad-form = The form could not be read. Go back to the page, and try again.
error-not-found-title = Page not found
error-not-found-text = There is no page at this address. Check the link, or start again from the application you were signing in to.
error-forbidden-title = Not allowed
error-forbidden-text = Your account does not have the role this page needs. Ask your administrator if you should have it.
error-server-title = Something went wrong
error-server-text = Please try again in a moment.
error-too-many-title = Too many sign-in attempts
error-too-many-text = Too many sign-in attempts from your network. Wait a minute, then try again.
login-expired-title = Sign-in expired
login-expired-text = This sign-in request has expired or was already used. Go back to the application and sign in again.
login-bad-form = The form was not sent from this sign-in page. Go back to the application and sign in again.

## An organisation's export (org export / offboard): index.html
export-title = Export of { $name }
export-heading = Everything held about { $name }
export-intro = Made { $at }. The full data is in organisation.json: every person, their devices (no secrets), every request and { $events } audit events.
export-people = People
export-username = Username
export-name = Name
export-state = State
export-devices = Devices
export-events = Events
export-requests = Requests
export-id = Number
export-type = Type
export-status = Status
export-made = Made
