# Nederlandse teksten van het selfserviceportaal (issue 15): Mijn apparaten en zijn
# onderdelen, apparaten toevoegen en verwijderen, herstelcodes, Mijn logins, "dit was ik
# niet", en de stap met de beveiligingssleutel bij het inloggen (key-*). Elke sleutel staat
# ook in ../en/portal.ftl.

## Navigatie
portal-nav-label = Portaal
portal-nav-devices = Mijn apparaten
portal-nav-logins = Mijn logins
portal-nav-approvals = Inlogverzoeken

## Mijn apparaten
portal-devices-title = Mijn apparaten
portal-devices-intro = Ingelogd als { $name }. Met elk van deze apparaten bevestigt u bij het inloggen dat u het bent: een telefoon of token met de code, een beveiligingssleutel met een aanraking.
portal-no-devices = Er zijn geen apparaten aan uw account gekoppeld.
portal-device-name = Naam
portal-device-added = toegevoegd
portal-last-used = laatst gebruikt
portal-expires = verloopt
portal-rename = Naam wijzigen
portal-remove = Verwijderen…
portal-kind-phone = Telefoonapp
portal-kind-token = Hardwaretoken { $serial }
portal-kind-key = Beveiligingssleutel
portal-kind-push = Inlogverzoeken (meldingen)
portal-state-active = actief
portal-state-disabled = uitgeschakeld
portal-state-in-stock = op voorraad
portal-state-removed = verwijderd
portal-add-phone = Telefoon toevoegen
portal-add-phone-text = Gebruik een authenticator-app op uw telefoon (bijvoorbeeld FreeOTP, Google Authenticator of Microsoft Authenticator).
portal-add-key = Beveiligingssleutel of passkey toevoegen
portal-add-key-text = Een beveiligingssleutel (bijvoorbeeld een YubiKey) of een passkey op deze computer of telefoon. Deze werkt alleen in de browser, niet om in te loggen op VPN of wifi.
portal-add-key-placeholder = mijn beveiligingssleutel
portal-token-heading = Hardwaretoken koppelen
portal-token-serial = Serienummer (achter op de token)
portal-token-placeholder = mijn token
portal-token-code = Huidige code
portal-token-button = Token koppelen
portal-recovery-heading = Herstelcodes
portal-recovery-text = Raakt u uw telefoon kwijt? Met een herstelcode logt u één keer in zonder code.
portal-recovery-left = Ongebruikte herstelcodes:
portal-recovery-replace = Nieuwe codes vervangen alle oude.
portal-recovery-button = Nieuwe herstelcodes maken
portal-language-heading = Taal
portal-language-label = Taal van het portaal, uw e-mails en inlogberichten
portal-language-org = De taal van uw organisatie
portal-language-nl = Nederlands
portal-language-en = English
portal-language-save = Taal opslaan
portal-error-phone-expired = De sleutel voor de nieuwe telefoon is verlopen. Kies Telefoon toevoegen om opnieuw te beginnen.
portal-error-key-too-slow = Het toevoegen van de beveiligingssleutel duurde te lang. Kies Beveiligingssleutel of passkey toevoegen om opnieuw te beginnen.

## Ingelogde browsers (single sign-on)
portal-sso-heading = Ingelogde browsers
portal-sso-intro = Browsers waar een inlog toepassingen toegang geeft zonder opnieuw te vragen (single sign-on). Logt u er een uit, dan krijgen de toepassingen die hij gebruikte daarvan bericht.
portal-sso-none = Er is geen browser ingelogd met single sign-on.
portal-sso-signed-in = Ingelogd
portal-sso-this-browser = (deze browser)
portal-sso-methods = methoden
portal-sso-applications = Toepassingen:
portal-sso-no-applications = nog geen
portal-sso-end = Deze browser uitloggen
portal-sso-end-all = Overal uitloggen

## Onthouden browsers
portal-remembered-heading = Onthouden browsers
portal-remembered-intro = Deze browsers vragen bij het inloggen wel om uw wachtwoord, maar niet om een code.
portal-remembered-intro-admin = Browsers die deze persoon liet onthouden: ze vragen om het wachtwoord, maar niet om een code.
portal-remembered-none = Nu geen.
portal-remembered-since = onthouden
portal-forget = Deze browser vergeten
portal-forget-all = Alle vergeten

## Telefoon toevoegen
portal-phone-intro = Scan deze code met de authenticator-app, of typ de sleutel over. Voer daarna de code in die de app toont. De sleutel wordt pas opgeslagen als de code klopt, en wordt na 10 minuten vergeten.
portal-phone-qr = QR-code van de sleutel die hieronder als tekst staat
portal-phone-key = Sleutel:
portal-phone-placeholder = mijn telefoon
portal-phone-code = Code uit de app
portal-phone-save = Telefoon opslaan

## Beveiligingssleutel toevoegen
portal-key-intro = Kies Toevoegen, steek dan uw beveiligingssleutel in en raak hem aan, of bevestig op dit apparaat om een passkey te maken. De naam wordt “{ $label }”.
portal-key-add = Toevoegen
portal-cancel = Annuleren

## Een apparaat verwijderen
portal-remove-title = Een apparaat verwijderen
portal-remove-heading = { $label } verwijderen
portal-remove-intro = Voer de huidige code van een ander apparaat van u in om dit apparaat te verwijderen.
portal-remove-key-intro = Gebruik een andere beveiligingssleutel van u om dit apparaat te verwijderen.
portal-remove-code = Code van een ander apparaat
portal-remove-confirm = Verwijderen
portal-remove-use-key = Gebruik liever een beveiligingssleutel
portal-remove-no-other-key = U heeft geen andere beveiligingssleutel. Voer een code van een ander apparaat in.
portal-remove-key-expired = Het verzoek voor de beveiligingssleutel is verlopen. Probeer het opnieuw.
portal-keep = Niet verwijderen

## Herstelcodes
portal-recovery-title = Uw herstelcodes
portal-recovery-intro = Schrijf ze op of druk ze af, en bewaar ze op een veilige plek. Met elke code logt u één keer in in plaats van met een code van uw telefoon. Ze worden alleen nu getoond; uw oude codes werken niet meer.
portal-done = Klaar

## Mijn logins
portal-logins-title = Mijn logins
portal-logins-intro = Uw recentste inlogpogingen, de nieuwste eerst. Ziet u er een die u niet was? Wijzig dan uw wachtwoord en meld het bij uw beheerder.
portal-logins-time = Tijd
portal-logins-channel = Kanaal
portal-logins-client = Toepassing
portal-logins-from = Vanaf
portal-logins-device = Apparaat
portal-logins-outcome = Uitkomst
portal-outcome-with-reason = { $outcome } ({ $reason })
portal-outcome-confirms = { $outcome }, ter bevestiging van: { $what }
portal-outcome-accept = toegelaten
portal-outcome-reject = geweigerd
portal-outcome-challenge = code gevraagd
portal-outcome-done = gedaan
portal-outcome-failed = mislukt
portal-channel-radius = VPN of wifi (RADIUS)
portal-channel-oidc = inloggen op het web
portal-channel-portal = portaal
portal-channel-cli = opdrachtregel
portal-channel-system = systeem
portal-channel-api = API
portal-channel-directory = directory
portal-confirms-add-phone = telefoon toevoegen
portal-confirms-link-token = token koppelen
portal-confirms-step-up = apparaat toevoegen
portal-confirms-remove-device = apparaat verwijderen
portal-confirms-password-reset = wachtwoord herstellen
portal-reason-unknown-user = onbekende gebruiker
portal-reason-no-password = geen wachtwoord
portal-reason-bad-password = verkeerd wachtwoord
portal-reason-person-disabled = account uitgeschakeld
portal-reason-person-removed = account verwijderd
portal-reason-locked-out = geblokkeerd na te veel pogingen
portal-reason-no-device = geen apparaat
portal-reason-missing-code = code ontbreekt
portal-reason-bad-code = verkeerde code
portal-reason-replayed-code = code al eerder gebruikt
portal-reason-rate-limited = te veel pogingen
portal-reason-overloaded = server te druk
portal-reason-challenge-expired = duurde te lang
portal-reason-approval-denied = geweigerd op de telefoon
portal-reason-approval-timed-out = niet op tijd goedgekeurd
portal-reason-approval-not-me = "dit was ik niet" op de telefoon
portal-reason-approval-replaced = een nieuwer verzoek
portal-reason-too-many-prompts = te veel verzoeken
portal-reason-approvals-locked = verzoeken gepauzeerd
portal-reason-bad-key = beveiligingssleutel niet geaccepteerd
portal-reason-password-throttled = te veel verkeerde wachtwoorden
portal-reason-person-blocked = account geblokkeerd
portal-reason-unavailable = dienst niet bereikbaar
portal-reason-directory-disabled = directory-account uitgeschakeld
portal-reason-directory-locked = directory-account vergrendeld
portal-reason-directory-password = directory-wachtwoord moet worden gewijzigd
portal-reason-directory-not-in-group = niet in de vereiste groep
portal-reason-factor-not-allowed = soort apparaat niet toegestaan
portal-reason-source-not-allowed = adres niet toegestaan
portal-reason-approvals-not-allowed = verzoeken niet toegestaan

## Bevestig dat u het bent (step-up)
portal-step-up-title = Bevestig dat u het bent
portal-step-up-intro = Voordat er een nieuwe telefoon, token, sleutel of nieuwe herstelcodes aan uw account worden toegevoegd, voert u de huidige code in van een van de apparaten die u al gebruikt (of een herstelcode).
portal-step-up-code = Code van een van uw apparaten
portal-step-up-confirm = Bevestigen
portal-back = Terug naar Mijn apparaten

## Dit was ik niet
portal-not-me-title = Een apparaat uitschakelen
portal-not-me-heading = Heeft u dit apparaat niet zelf toegevoegd?
portal-not-me-linked = Het apparaat "{ $label }" is aan uw account gekoppeld. Heeft u dit niet gedaan? Schakel het dan nu uit: daarna kan er niet meer mee worden ingelogd, en dit wordt vastgelegd in het auditlogboek.
portal-not-me-button = Dit apparaat uitschakelen
portal-not-me-gone-title = Link niet geldig
portal-not-me-gone-text = Deze link is niet geldig, of het apparaat is al uitgeschakeld of verwijderd. Denkt u dat iemand anders toegang heeft tot uw account? Meld het dan direct bij de beheerder van uw organisatie of bij de helpdesk.
portal-not-me-done-title = Apparaat uitgeschakeld
portal-not-me-done-text = Het apparaat "{ $label }" is uitgeschakeld en kan niet meer worden gebruikt om in te loggen. Uw beheerder kan dit zien in het auditlogboek. Denkt u dat iemand uw wachtwoord kent? Wijzig het dan en meld het bij uw beheerder.
portal-not-me-expired = Uw sessie is verlopen. Open de link uit de e-mail opnieuw.
portal-not-me-bad-form = Het formulier is niet vanaf deze pagina verstuurd. Open de link uit de e-mail opnieuw.

## Weigeringen en uitloggen
portal-refused-title = Verzoek geweigerd
portal-not-signed-in = U bent niet ingelogd op het portaal, of uw sessie is verlopen. Log opnieuw in.
portal-bad-form = Het formulier is niet vanaf deze portaalpagina verstuurd. Ga terug naar het portaal en probeer het opnieuw.
portal-bad-language = Kies Nederlands, English of de taal van uw organisatie.
portal-signed-out-title = Uitgelogd
portal-signed-out-text = U bent uitgelogd bij het portaal.

## De stap met de beveiligingssleutel bij het inloggen, en elk sleutelformulier
key-login-title = Gebruik uw beveiligingssleutel
key-login-intro = Inloggen bij { $client }. Kies Beveiligingssleutel gebruiken en raak dan uw sleutel aan, of bevestig op dit apparaat.
key-use = Beveiligingssleutel gebruiken
key-use-code = Liever een code invoeren
key-unsupported = Deze browser kan geen beveiligingssleutels gebruiken. Ga terug en gebruik een code.
key-no-script = Beveiligingssleutels hebben JavaScript nodig, en dat staat in deze browser uit. Ga terug en gebruik een code.
