# English texts of the service's refusals (issue 15): why a change or a step was refused,
# as the CLI, the logs and the pages say it (service/refusal.rs). Every key is also in
# ../nl/service.ftl.

## The portal: devices of one's own
svc-last-device = You cannot remove your last device; ask your organisation's administrator or the helpdesk.
svc-wrong-code = That code is not right. Enter the current code from another of your devices.
svc-no-such-token = No token with that serial number can be linked to your account. Check the number on the token, or ask your administrator.
svc-wrong-token-code = That code is not right for this token. Press the token's button and enter the code it shows.
svc-wrong-new-code = That code is not right. Check that the app shows the new account, then enter its current code.
svc-no-such-device = That device is not linked to your account.
svc-key-not-accepted = The security key's answer was not accepted. Try again, or choose another key.
svc-key-linked = This security key is linked already.
svc-wrong-key = That security key was not accepted. Use another of your devices.
svc-wrong-step-up = That code is not right. Enter the current code from one of the devices you already use.
svc-bad-label = Give the device a name of 1 to 64 characters, without control or text-direction characters.
svc-bad-subscription = This browser's notification subscription was not accepted. Try again, or use another browser.
svc-unknown-push-service = This browser's push service is not one the gateway sends to.
svc-push-devices-full = At most { $max } devices can get your sign-in requests. Remove one under My devices first.
svc-request-gone = This request is no longer waiting: it was answered, replaced by a newer one, or it expired.

## Passwords (activation, reset)
svc-passwords-differ = The two passwords differ.
svc-password-too-short = password is too short: at least { $min } characters
svc-password-breached = This password appears in a list of breached passwords; choose another.

## The password reset
svc-reset-link-invalid = This reset link is not valid: it was used already, a newer one was sent, it expired, or it was mistyped. Ask for a new one on the sign-in page.
svc-reset-wrong-code = That code is not right. Enter the current code from any phone or token linked to your account, or one of your recovery codes.
svc-reset-no-device = Your account has no phone or token to confirm with. Ask your organisation's administrator to reset your password.
svc-reset-code-first = Confirm with a code from your phone or token first.

## Organisations and people (the CLI, the operator)
svc-org-name-empty = organisation name is empty
svc-org-name-no-letter = organisation name needs a letter or a digit
svc-org-suffix-taken = organisation name "{ $name }" has the login suffix "{ $suffix }" of "{ $other }"
svc-username-ambiguous = "{ $username }" is a username in { $count } organisations: name one as { $names }
svc-username-bad = username is empty or has control characters
svc-full-name-empty = full name is empty
svc-use-unlock = use unlock or re-create
svc-person-not-active = { $username } is not active
svc-temporary-code-minutes = a temporary code is valid for 1 to { $max } minutes
svc-totp-params = TOTP needs 6 to 8 digits and a period of 1 to 300 seconds
svc-not-hotp = device { $device } is not an HOTP token
svc-resync-window = the two codes do not follow each other within the resync window
svc-import-unsupported = entry { $entry } (serial "{ $serial }"): unsupported digits or period
svc-erase-not-removed = person { $person } is { $state }: remove them first (`person remove`); only a removed person's identity can be erased
svc-policy-operator-only = only the operator sets an organisation's policy
svc-policy-no-factors = factors: allow at least one kind (or all)
svc-policy-lockout = lockout threshold { $value } is outside { $min }..={ $max }
svc-policy-language = language { $value } is not one of nl, en
svc-policy-sso-hours = single sign-on lasts at most { $max } hours
svc-policy-sso-idle = single sign-on idle time must be 1 to { $max } minutes
svc-policy-remember-days = remember days { $value } is outside { $min }..={ $max }
svc-policy-empty-ranges = a client's ranges must name at least one range
svc-offboard-operator-only = only the operator can offboard an organisation

## Admin tools
svc-codes-refused = These two codes do not resynchronise the token: type two codes the token shows one after the other (press its button twice), the older first.
svc-not-resyncable = Only an active HOTP token (one with a button) can be resynchronised.
svc-used-meanwhile = The token was used to sign in meanwhile; type two new codes.

## The account life cycle: requests, activation links, token stock
svc-operator-only = Only the operator can do this.
svc-link-invalid = This activation link is not valid: it was used already, it expired, or it was mistyped. Ask your organisation's administrator for a new one.
svc-reservation-closed = This reservation can no longer be changed: the switch-over date has passed or it is closed.
svc-reservation-passed = The switch-over date has passed: order tokens instead of reserving them.
svc-account-not-active = This account is not active.
svc-fill-in = Fill in the { $what }.
svc-too-long = The { $what } is too long or has control characters (at most { $max } characters).
svc-token-count = The number of tokens must be 1 to { $max }.
svc-email-wrong = The e-mail address does not look right.
svc-start-date = Give the start date as YYYY-MM-DD.
svc-end-date = Give the end date as YYYY-MM-DD.
svc-date = Give the date as YYYY-MM-DD.
svc-no-factor = Choose at least one factor: a phone, a hardware token, or both.
svc-username-taken = That username is taken; choose another one (or leave it empty to use the e-mail address).
svc-username-taken-meanwhile = The username was taken meanwhile: reject the request with that reason so the organisation can ask again with another.
svc-nothing-to-change = Nothing to change: give a new name, a new e-mail address, or replace the token.
svc-no-such-person = No such person in this organisation.
svc-has-password = This account has a password already; an activation link is only for accounts not yet activated. For a lost device, issue a temporary code.
svc-not-in-stock = No token with that serial number is in your organisation's stock.
svc-request-not-at = request { $id } is { $status }, not { $wanted }
svc-request-changed = request { $id } changed meanwhile
svc-too-few-tokens = only { $stock } tokens in stock, { $ordered } ordered
svc-token-not-in-stock = token "{ $serial }" is not in the organisation's stock

## The CSV import of people: what is wrong with a line of the file (after "line N: ")
svc-csv-quote-inside = a quote inside a field: quote the whole field and double the quote ("")
svc-csv-text-after-quote = text after a closing quote
svc-csv-quote-open = a quoted field is not closed
svc-csv-too-large = the file is larger than { $mib } MiB; split it into smaller files
svc-csv-not-utf8 = not UTF-8 text; save the file as CSV UTF-8
svc-csv-empty = the file is empty: it needs a header row ({ $columns }) and a row per person
svc-csv-column-twice = the column { $column } is there twice
svc-csv-column-unknown = unknown column { $column }; the columns are { $columns }
svc-csv-column-missing = the column { $column } is missing (the header row needs name and email)
svc-csv-no-people = the file has a header row but no people
svc-csv-too-many = the file has { $count } people; at most { $max } can be imported at once
svc-csv-fields = { $count } fields, but the header row has { $header }
svc-csv-field = the { $column } column of this line cannot be read
svc-csv-bad-email = the e-mail address { $email } does not look right
svc-csv-bad-date = the start date { $date } is not a date YYYY-MM-DD
svc-csv-username-twice = the username { $value } is also on line { $line }
svc-csv-email-twice = the e-mail address { $value } is also on line { $line }
svc-csv-number-twice = the employee number { $value } is also on line { $line }
svc-csv-username-taken = the username { $username } is taken; give another one in the username column
svc-csv-made-meanwhile = { $what } was made meanwhile; nothing was imported, check the file again
