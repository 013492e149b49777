# English texts of the auditor's pages (/audit) and of the sign-in provider's own pages
# (issue 15). Every key is also in ../nl/audit.ftl.

## Navigation
audit-nav-label = Audit
audit-nav-search = Audit search
audit-nav-portal = My devices

## Refusals
audit-forbidden-title = Not allowed
audit-forbidden-text = Your account does not have the role this page needs. Ask your administrator if you should have it.
audit-no-such-person-title = No such person
audit-no-such-person-text = There is no person with that id.
audit-no-such-org-title = No such organisation
audit-no-such-org-text = There is no organisation with that name or id.
audit-bad-search-title = The search cannot run

## The search form
audit-title = Audit
audit-heading = Audit trail
audit-scope = You see the events of { $org } only: its people's logins and changes, and what its administrators did. Events without an organisation (unknown usernames, the system) are not shown.
audit-field-person = Person (username)
audit-field-org = Organisation
audit-field-org-hint = name or id
audit-field-from = From
audit-field-to = To
audit-field-channel = Channel
audit-field-client = Client
audit-field-client-hint = RADIUS client or OIDC client id
audit-field-outcome = Outcome
audit-field-reason = Reason
audit-field-source = Source address
audit-field-kind = Kind
audit-any = any
audit-search = Search
audit-error-not-one-of = { $field } "{ $value }" is not one of: { $options }
audit-error-not-a-time = { $field } "{ $value }" is not a date (2026-11-25), an RFC 3339 time or unix seconds.
audit-error-no-such-org = There is no organisation "{ $org }".
audit-error-failed = The search could not run. Try again later.

## The chart and the most failures
audit-chart-heading = Login attempts per day
audit-chart-range = { $from } to { $to } (UTC days), login attempts matching the search
audit-chart-label = Login attempts per day by outcome
audit-chart-bar = { $day }: { $count } { $outcome }
audit-chart-as-table = The chart as a table
audit-chart-day = Day (UTC)
audit-outcome-accepted = accepted
audit-outcome-challenged = challenged
audit-outcome-rejected = rejected
audit-outcome-other = other
audit-chart-accepted = Accepted
audit-chart-challenged = Challenged
audit-chart-rejected = Rejected
audit-chart-other = Other
audit-top-people = Most failures by username
audit-top-sources = Most failures by source
audit-top-who = Who
audit-top-rejections = Rejections
audit-top-none = none

## The events
audit-events-heading = Events
audit-export = Export this search:
audit-export-csv = CSV
audit-export-jsonl = JSON lines
audit-paging = { $total } events; page { $page } of { $pages }.
audit-newer = Newer
audit-older = Older
audit-col-time = Time
audit-col-kind = Kind
audit-col-person = Person
audit-col-actor = Actor
audit-col-channel = Channel
audit-col-client = Client
audit-col-source = From
audit-col-device = Device
audit-col-outcome = Outcome
audit-col-request = Request

## A person's timeline
audit-timeline-title = Timeline
audit-timeline-heading = Timeline of { $name }
audit-timeline-about = Username { $username }, organisation { $org }, state { $state }, roles { $roles }.
audit-timeline-all = Every event about this person, newest first.
audit-timeline-org = Every event about this person in your organisation's events, newest first.
audit-subject-link = Subject access: everything held about this person
audit-subject-json = JSON
audit-export-person-csv = Export as CSV

## Subject access
audit-subject-title = Subject access: { $name }
audit-subject-heading = Everything held about { $name }
audit-subject-made = Made { $when } by mfa-gateway. Secrets (password hash, device seeds, codes) are never shown or exported.
audit-subject-account = Account
audit-subject-person-id = Person id
audit-subject-sub = Subject id (sign-in claims)
audit-subject-username = Username
audit-subject-full-name = Full name
audit-subject-email = E-mail
audit-subject-employee-number = Employee number
audit-subject-org = Organisation
audit-subject-roles = Roles
audit-subject-state = State
audit-subject-created = Created
audit-subject-recovery-codes = Unused recovery codes
audit-subject-devices = Devices
audit-subject-device-label = Label
audit-subject-device-kind = Kind
audit-subject-device-serial = Serial
audit-subject-device-state = State
audit-subject-device-added = Added
audit-subject-device-last-used = Last used
audit-subject-events = Events about this person ({ $count })

## The sign-in provider's pages (/oauth2)
oidc-invalid-request-title = Invalid sign-in request
oidc-invalid-request-text = The application that sent you here made a request this server cannot accept. Go back to the application and try again, or tell its administrator.
oidc-confirm-title = Sign out?
oidc-confirm-text = An application asked to sign you out. Sign out now?
oidc-confirm-button = Sign out
oidc-signed-out-title = You are signed out
oidc-signed-out-text = You can close this window.
