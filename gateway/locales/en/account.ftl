# English texts of the account pages reached without a portal session or around approvals:
# activation, password reset, /approve and the portal's sign-in requests. Every key is also
# in ../nl/account.ftl.

## Activation (the link in the invitation mail)
activate-title = Activate your account
activate-username = username
activate-directory-password = You sign in with the password you use for Windows at your organisation; no new password is needed.
activate-password = New password (at least { $min } characters)
activate-password-again = The password again
activate-phone = Your phone
activate-scan = Scan this code with an authenticator app, or type in the key.
activate-qr-label = QR code of the key shown below as text
activate-key = Key:
activate-label = Name of the phone
activate-label-default = phone
activate-code = The code the app shows
activate-submit = Activate
activate-done-title = Account ready
activate-done = Your account is ready
activate-done-text = Sign in as { $username } with your password and a code from your phone.
activate-to-portal = Go to the portal
activate-link-invalid-title = Activation link not valid
activate-link-invalid = This activation link is not valid: it was used already, it expired, or it was mistyped. Ask your organisation's administrator for a new one.
activate-refused-title = Request refused
activate-error-session = Your session expired. Open the activation link again.
activate-error-forged = The form was not sent from the activation page. Open the link again.
activate-error-differ = The two passwords differ.
activate-error-too-short = The password is too short: at least { $min } characters.
activate-error-breached = This password appears in a list of breached passwords; choose another.
activate-error-code = That code is not right. Check that the app shows the new account, then enter its current code.
activate-error-label = Give the phone a name of 1 to 64 characters, without control or text-direction characters.
activate-error-other = That was not accepted. Check what you filled in, then try again.

## Password reset ("Forgot password?")
reset-request-title = Forgot password
reset-request-heading = Forgot your password?
reset-request-intro = Enter your username or the e-mail address of your account. We mail you a link to choose a new password; you will also need a code from your phone or token.
reset-identifier = Username or e-mail address
reset-send = Send the link
reset-back = Back to sign in
reset-error-identifier = Enter your username or e-mail address.
reset-sent-title = Check your mail
reset-sent = If the username or address is known here, a mail with a link to reset the password is on its way to the address on the account. The link works for an hour. No mail? Check the spam folder, or ask your organisation's administrator.
reset-title = Reset your password
reset-account = Account
reset-code-intro = First confirm it is you: open the authenticator app on any phone linked to your account, or press your token, and enter the code it shows.
reset-code = Code
reset-code-hint = Lost your phone? Enter one of your recovery codes instead.
reset-continue = Continue
reset-password-title = Choose a new password
reset-password = New password (at least { $min } characters)
reset-password-again = The password again
reset-set = Set the password
reset-done-title = Password changed
reset-done = Your password was changed
reset-done-text = Sign in as { $username } with your new password and a code from your phone or token.
reset-sign-in = Sign in
reset-link-invalid-title = Reset link not valid
reset-link-invalid = This reset link is not valid: it was used already, a newer one was sent, it expired, or it was mistyped. Ask for a new one on the sign-in page.
reset-too-many-title = Too many requests
reset-too-many = Too many requests from your network. Wait a few minutes, then try again.
reset-refused-title = Request refused
reset-error-forged = The form was not sent from this page, or it is too old. Open the page again.
reset-error-code = That code is not right. Enter the current code from any phone or token linked to your account, or one of your recovery codes.
reset-error-no-device = Your account has no phone or token to confirm with. Ask your organisation's administrator to reset your password.
reset-error-code-first = Confirm with a code from your phone or token first.
reset-error-differ = The two passwords differ.
reset-error-too-short = The password is too short: at least { $min } characters.
reset-error-breached = This password appears in a list of breached passwords; choose another.
reset-error-other = That was not accepted. Check what you filled in, then try again.

## /approve: answer a held sign-in with a code
approve-title = Approve a sign-in
approve-intro = A sign-in is waiting for your approval (for example to the remote desktop). Enter your username and the current code from any phone or token linked to your account, or a recovery code.
approve-username = Username
approve-code = Code
approve-submit = Approve
approve-refused = Not approved. Check the username and enter the current code from any phone or token linked to your account; a sign-in must be waiting for your approval.
approve-approved = Approved. Your sign-in goes on; you can close this page.

## The portal's sign-in requests
approvals-title = Sign-in requests
approvals-nav = Portal
approvals-nav-devices = My devices
approvals-nav-logins = My logins
approvals-question = Are you signing in to { $client }?
approvals-meta = From { $source }, at { $at }. This request expires at { $expires }.
approvals-unknown-source = an unknown address
approvals-choose = Choose the number shown on the sign-in page:
approvals-approve = Approve
approvals-deny = Deny
approvals-not-me = This was not me
approvals-not-me-hint = "This was not me" refuses the sign-in, tells the operators, and stops further requests for a while. Use it if you did not just try to sign in.
approvals-none = No sign-in is waiting for your approval. This page updates by itself when one arrives.
approvals-not-bound = Sign-in requests are answered on a device that gets them: turn on notifications on this device first (below), answer on the phone where you did, or answer with a code from any phone or token at /approve.
approvals-with-code = No notifications on this device, or only a hardware token?
approvals-with-code-link = Answer with a code
approvals-with-code-rest = from any phone or token linked to your account.
approvals-push-title = Notifications on this device
approvals-push-intro = Get sign-in requests on this phone or computer as notifications (on an iPhone, first add the portal to the Home Screen: Share, Add to Home Screen). The device is then listed under My devices, where you can remove it.
approvals-push-label = Name of this device
approvals-push-placeholder = my phone
approvals-push-code = Current code from one of your devices (needed when you signed in more than 5 minutes ago)
approvals-push-enable = Turn on notifications
approvals-approved = You approved the sign-in to { $client }.
approvals-denied = You denied the sign-in to { $client }.
approvals-wrong-number = That was not the number on the sign-in page: the sign-in to { $client } was refused.
approvals-not-me-done = The sign-in was refused and the operators were told. Change your password if you think it is known to someone else.
approvals-error-gone = This request is no longer waiting: it was answered, replaced by a newer one, or it expired.
approvals-error-other = That answer was not accepted. Reload the page and try again.
approvals-refused-title = Request refused
approvals-error-answer = That is not an answer this page gives.
approvals-error-subscription = This browser's notifications could not be linked. Try again, or use another browser.
approvals-error-label = Give the device a name of 1 to 64 characters, without control or text-direction characters.
approvals-error-too-many-devices = Too many devices get your sign-in requests already. Remove one under My devices first.
