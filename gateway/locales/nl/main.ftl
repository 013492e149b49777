# Nederlandse teksten van mfa-gateway (issue 15). Elke sleutel staat ook in
# ../en/main.ftl; een test faalt als er een ontbreekt of als geen code hem gebruikt.

## RADIUS
radius-reject = Toegang geweigerd
radius-challenge-prompt = Voer de code van uw telefoon of token in

## Mail: een wijziging door de beheerder van de aanbieder
mail-account-subject = Uw inlogaccount: { $what }
mail-operator-body =
    { $what }.

    Wanneer: { $when }
    Door: de beheerder van uw aanbieder.

    Heeft u hier niet om gevraagd? Meld het dan direct bij de beheerder
    van uw organisatie of bij de helpdesk.
mail-what-temporary-code = Er is een tijdelijke inlogcode voor uw account uitgegeven (voor een verloren apparaat)
mail-what-phone-linked = Een telefoon met de naam "{ $label }" is aan uw account gekoppeld
mail-what-device-removed = Het apparaat "{ $label }" is van uw account verwijderd
mail-what-token-linked = De hardwaretoken { $serial } is aan uw account gekoppeld als "{ $label }"
mail-what-device-disabled-not-me = Het apparaat "{ $label }" is op uw account uitgeschakeld (u gaf aan dat het niet van u is)
mail-what-device-renamed = Uw apparaat "{ $from }" heeft de nieuwe naam "{ $to }"
mail-what-recovery-codes = Er zijn nieuwe herstelcodes voor uw account gemaakt; de oude werken niet meer
mail-what-key-linked = Een beveiligingssleutel met de naam "{ $label }" is aan uw account gekoppeld
mail-what-push-linked = "{ $label }" krijgt nu uw inlogverzoeken als melding

## Mail: regels die de accountberichten delen
mail-when = Wanneer: { $when }
mail-from-portal = Vanaf: { $source }, in het selfserviceportaal.
mail-unknown-address = een onbekend adres
mail-not-me-link = Was u dit niet? Schakel het apparaat dan direct uit:
mail-tell-admin =
    Was u dit niet? Meld het dan direct bij de beheerder van uw organisatie
    of bij de helpdesk.
mail-hello = Beste { $name },

## Mail: een token opnieuw gesynchroniseerd door een beheerder
mail-resync-subject = Uw token is opnieuw gesynchroniseerd
mail-resync-body = Een beheerder heeft uw token "{ $label }" op { $when } opnieuw gesynchroniseerd: de volgende code wordt weer geaccepteerd.
mail-resync-not-asked = Heeft u hier niet om gevraagd? Meld het dan bij de beheerder van uw organisatie.

## Mail: de activeringslink van een nieuw account
mail-activation-subject = Activeer uw inlogaccount
mail-activation-body = Er is een account voor u gemaakt. Open deze link om uw wachtwoord in te stellen en uw telefoon te koppelen (de link werkt één keer, tot { $until }):
mail-activation-not-expected = Verwachtte u dit niet? Meld het dan bij de beheerder van uw organisatie.

## Mail: een wachtwoord herstellen
mail-reset-subject = Stel uw wachtwoord opnieuw in
mail-reset-body = Iemand, hopelijk u, heeft gevraagd het wachtwoord van uw inlogaccount { $username } opnieuw in te stellen. Open deze link om een nieuw wachtwoord te kiezen; u heeft ook een code van uw telefoon of token nodig. De link werkt één keer, tot { $until }:
mail-reset-ignore = Heeft u hier niet om gevraagd? Negeer dan deze mail: uw wachtwoord blijft zoals het is.
mail-reset-not-local-subject = Uw wachtwoord is het wachtwoord van uw organisatie
mail-reset-not-local-body = Iemand, hopelijk u, heeft gevraagd het wachtwoord van uw inlogaccount { $username } opnieuw in te stellen. Uw account heeft hier geen eigen wachtwoord: u logt in met het (Windows-)wachtwoord van uw organisatie. Wijzig of herstel dat wachtwoord zoals uw organisatie dat doet (op uw computer, of via de helpdesk van uw organisatie). Is uw account nieuw? Gebruik dan de activeringslink uit uw uitnodiging.
mail-reset-not-local-ignore = Heeft u hier niet om gevraagd? Negeer dan deze mail.
mail-reset-done-subject = Uw wachtwoord is gewijzigd
mail-reset-done-body = Het wachtwoord van uw inlogaccount { $username } is op { $when } gewijzigd via de pagina "Wachtwoord vergeten?". Uw websessies zijn afgemeld.

## Goedkeuren op de telefoon: de melding en de tekst van de webhook
push-title = Inlogverzoek
push-body = { $client } vanaf { $source }: tik om goed te keuren of te weigeren

## Aanvragen (in dienst, wijziging, uit dienst, tokens)
request-kind-new-employee = Nieuwe medewerker
request-kind-change-account = Account wijzigen
request-kind-remove-account = Account verwijderen
request-kind-order-tokens = Hardwaretokens bestellen
request-kind-reserve-tokens = Tokens reserveren
request-status-submitted = ingediend
request-status-in-progress = in behandeling
request-status-done = afgehandeld
request-status-rejected = afgewezen
request-status-cancelled = geannuleerd
mail-request-subject = Aanvraag { $id }: { $status }
mail-request-body = Aanvraag { $id } ({ $kind }) is nu: { $status }.
mail-request-reason = Reden: { $reason }
mail-request-history = Op de beheerpagina's ziet u het verloop.

## De inlogpagina
login-title = Inloggen
login-to = bij { $client }
login-username = Gebruikersnaam
login-password = Wachtwoord
login-continue = Verder
login-forgot = Wachtwoord vergeten?
login-error-wrong = De gebruikersnaam of het wachtwoord klopt niet, of dit account kan hier niet inloggen.
login-error-change-in-windows = Uw Windows-wachtwoord is verlopen of moet worden gewijzigd. Wijzig eerst uw wachtwoord in Windows en log hier daarna in met het nieuwe wachtwoord.
login-error-too-many = Te veel pogingen. Wacht een minuut en probeer het opnieuw.
login-error-too-many-sessions = Te veel aanmeldingen tegelijk vanaf uw netwerk. Wacht een paar minuten en probeer het opnieuw.
login-error-session-expired = Uw sessie is verlopen. Log opnieuw in.
login-error-too-slow = Dat duurde te lang. Log opnieuw in.
login-error-too-many-codes = Te veel verkeerde codes. Log opnieuw in.

## De codepagina (de tweede stap)
code-title = Voer uw code in
code-intro = Open de authenticator-app op een telefoon die aan uw account is gekoppeld, of druk op uw token, en voer de code in die u ziet. U logt in bij { $client }.
code-label = Code
code-hint = Telefoon kwijt? Voer dan een van uw herstelcodes in.
code-remember = Onthoud deze browser { $days } dagen
code-submit = Inloggen
code-use-key = Een beveiligingssleutel gebruiken
code-send-request = Stuur een verzoek naar mijn telefoon
code-cancel = Annuleren
code-error-wrong = Die code klopt niet. Voer de huidige code in van een telefoon of token die aan uw account is gekoppeld.
code-error-wrong-key = Die beveiligingssleutel is niet geaccepteerd. Probeer het opnieuw met een sleutel die aan uw account is gekoppeld, of voer een code in.
code-error-keys-unavailable = Beveiligingssleutels kunnen op deze server nog niet worden gebruikt. Gebruik een code en meld het bij uw beheerder.
code-error-no-key = Er is geen beveiligingssleutel aan uw account gekoppeld. Voer een code in.
code-error-key-expired = Het verzoek voor de beveiligingssleutel is verlopen. Kies opnieuw Een beveiligingssleutel gebruiken.
code-error-not-approved = Het verzoek is niet op tijd goedgekeurd, of het is geweigerd. Voer een code in, of stuur een nieuw verzoek.

## Wachten op goedkeuring op de telefoon
waiting-title = Keur goed op uw telefoon
waiting-choose = Kies op uw telefoon
waiting-sent = We hebben een inlogverzoek voor { $client } naar uw telefoon gestuurd. Open het (of de pagina Inlogverzoeken in het portaal) en keur het goed. Deze pagina gaat vanzelf verder.

## Gedeeld door alle pagina's
time-never = nooit
nav-sign-out = Uitloggen
error-refused-title = Verzoek geweigerd
error-bad-form = Het formulier kon niet worden gelezen. Ga terug naar de pagina en probeer het opnieuw.
error-not-found-title = Pagina niet gevonden
error-not-found-text = Op dit adres staat geen pagina. Controleer de link, of begin opnieuw vanuit de toepassing waarop u wilde inloggen.
error-forbidden-title = Niet toegestaan
error-forbidden-text = Uw account heeft niet de rol die deze pagina vraagt. Vraag uw beheerder of u die zou moeten hebben.
error-server-title = Er ging iets mis
error-server-text = Probeer het over een moment opnieuw.
error-too-many-title = Te veel inlogpogingen
error-too-many-text = Te veel inlogpogingen vanaf uw netwerk. Wacht een minuut en probeer het dan opnieuw.
login-expired-title = Inloggen verlopen
login-expired-text = Dit inlogverzoek is verlopen of al gebruikt. Ga terug naar de toepassing en log opnieuw in.
login-bad-form = Het formulier kwam niet van deze inlogpagina. Ga terug naar de toepassing en log opnieuw in.

## De export van een organisatie (org export / offboard): index.html
export-title = Export van { $name }
export-heading = Alles wat over { $name } is vastgelegd
export-intro = Gemaakt { $at }. Alle gegevens staan in organisation.json: iedere persoon, hun apparaten (zonder geheimen), ieder verzoek en { $events } auditgebeurtenissen.
export-people = Personen
export-username = Gebruikersnaam
export-name = Naam
export-state = Status
export-devices = Apparaten
export-events = Gebeurtenissen
export-requests = Verzoeken
export-id = Nummer
export-type = Soort
export-status = Status
export-made = Gemaakt
