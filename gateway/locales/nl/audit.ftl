# Nederlandse teksten van de auditpagina's (/audit) en van de eigen pagina's van de
# inlogdienst (issue 15). Elke sleutel staat ook in ../en/audit.ftl.

## Navigatie
audit-nav-label = Audit
audit-nav-search = Audit doorzoeken
audit-nav-portal = Mijn apparaten

## Weigeringen
audit-forbidden-title = Geen toegang
audit-forbidden-text = Uw account heeft niet de rol die deze pagina vraagt. Vraag uw beheerder of u die rol zou moeten hebben.
audit-no-such-person-title = Persoon niet gevonden
audit-no-such-person-text = Er is geen persoon met dat id.
audit-no-such-org-title = Organisatie niet gevonden
audit-no-such-org-text = Er is geen organisatie met die naam of dat id.
audit-bad-search-title = De zoekopdracht kan niet worden uitgevoerd

## Het zoekformulier
audit-title = Audit
audit-heading = Audittrail
audit-scope = U ziet alleen de gebeurtenissen van { $org }: de logins en wijzigingen van de mensen ervan, en wat de beheerders ervan deden. Gebeurtenissen zonder organisatie (onbekende gebruikersnamen, het systeem) worden niet getoond.
audit-field-person = Persoon (gebruikersnaam)
audit-field-org = Organisatie
audit-field-org-hint = naam of id
audit-field-from = Van
audit-field-to = Tot en met
audit-field-channel = Kanaal
audit-field-client = Client
audit-field-client-hint = RADIUS-client of OIDC-client-id
audit-field-outcome = Uitkomst
audit-field-reason = Reden
audit-field-source = Bronadres
audit-field-kind = Soort
audit-any = alle
audit-search = Zoeken
audit-error-not-one-of = { $field } "{ $value }" is niet een van: { $options }
audit-error-not-a-time = { $field } "{ $value }" is geen datum (2026-11-25), RFC 3339-tijd of aantal Unix-seconden.
audit-error-no-such-org = Er is geen organisatie "{ $org }".
audit-error-failed = De zoekopdracht kon niet worden uitgevoerd. Probeer het later opnieuw.

## De grafiek en de meeste mislukte pogingen
audit-chart-heading = Inlogpogingen per dag
audit-chart-range = { $from } tot en met { $to } (UTC-dagen), inlogpogingen die aan de zoekopdracht voldoen
audit-chart-label = Inlogpogingen per dag naar uitkomst
audit-chart-bar = { $day }: { $count } { $outcome }
audit-chart-as-table = De grafiek als tabel
audit-chart-day = Dag (UTC)
audit-outcome-accepted = geaccepteerd
audit-outcome-challenged = om code gevraagd
audit-outcome-rejected = geweigerd
audit-outcome-other = overig
audit-chart-accepted = Geaccepteerd
audit-chart-challenged = Om code gevraagd
audit-chart-rejected = Geweigerd
audit-chart-other = Overig
audit-top-people = Meest geweigerd per gebruikersnaam
audit-top-sources = Meest geweigerd per bronadres
audit-top-who = Wie
audit-top-rejections = Weigeringen
audit-top-none = geen

## De gebeurtenissen
audit-events-heading = Gebeurtenissen
audit-export = Deze zoekopdracht exporteren:
audit-export-csv = CSV
audit-export-jsonl = JSON-regels
audit-paging = { $total } gebeurtenissen; pagina { $page } van { $pages }.
audit-newer = Nieuwer
audit-older = Ouder
audit-col-time = Tijd
audit-col-kind = Soort
audit-col-person = Persoon
audit-col-actor = Door
audit-col-channel = Kanaal
audit-col-client = Client
audit-col-source = Vanaf
audit-col-device = Apparaat
audit-col-outcome = Uitkomst
audit-col-request = Verzoek

## De tijdlijn van een persoon
audit-timeline-title = Tijdlijn
audit-timeline-heading = Tijdlijn van { $name }
audit-timeline-about = Gebruikersnaam { $username }, organisatie { $org }, status { $state }, rollen { $roles }.
audit-timeline-all = Alle gebeurtenissen over deze persoon, nieuwste eerst.
audit-timeline-org = Alle gebeurtenissen over deze persoon binnen de gebeurtenissen van uw organisatie, nieuwste eerst.
audit-subject-link = Inzageverzoek: alles wat over deze persoon is vastgelegd
audit-subject-json = JSON
audit-export-person-csv = Exporteren als CSV

## Inzage
audit-subject-title = Inzage: { $name }
audit-subject-heading = Alles wat over { $name } is vastgelegd
audit-subject-made = Gemaakt op { $when } door mfa-gateway. Geheimen (wachtwoordhash, apparaatsleutels, codes) worden nooit getoond of geëxporteerd.
audit-subject-account = Account
audit-subject-person-id = Persoon-id
audit-subject-sub = Subject-id (inlogclaims)
audit-subject-username = Gebruikersnaam
audit-subject-full-name = Volledige naam
audit-subject-email = E-mail
audit-subject-employee-number = Personeelsnummer
audit-subject-org = Organisatie
audit-subject-roles = Rollen
audit-subject-state = Status
audit-subject-created = Aangemaakt
audit-subject-recovery-codes = Ongebruikte herstelcodes
audit-subject-devices = Apparaten
audit-subject-device-label = Naam
audit-subject-device-kind = Soort
audit-subject-device-serial = Serienummer
audit-subject-device-state = Status
audit-subject-device-added = Toegevoegd
audit-subject-device-last-used = Laatst gebruikt
audit-subject-events = Gebeurtenissen over deze persoon ({ $count })

## De eigen pagina's van de inlogdienst (/oauth2)
oidc-invalid-request-title = Ongeldig inlogverzoek
oidc-invalid-request-text = De toepassing die u hierheen stuurde, deed een verzoek dat deze server niet kan aannemen. Ga terug naar de toepassing en probeer het opnieuw, of meld het bij de beheerder ervan.
oidc-confirm-title = Uitloggen?
oidc-confirm-text = Een toepassing vroeg om u uit te loggen. Nu uitloggen?
oidc-confirm-button = Uitloggen
oidc-signed-out-title = U bent uitgelogd
oidc-signed-out-text = U kunt dit venster sluiten.
