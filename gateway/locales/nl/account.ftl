# Nederlandse teksten van de accountpagina's zonder portaalsessie of rond goedkeuringen:
# activeren, wachtwoord opnieuw instellen, /approve en de inlogverzoeken in het portaal.
# Elke sleutel staat ook in ../en/account.ftl.

## Activeren (de link in de uitnodigingsmail)
activate-title = Activeer uw account
activate-username = gebruikersnaam
activate-directory-password = U logt in met het wachtwoord dat u bij uw organisatie voor Windows gebruikt; een nieuw wachtwoord is niet nodig.
activate-password = Nieuw wachtwoord (minstens { $min } tekens)
activate-password-again = Het wachtwoord nogmaals
activate-phone = Uw telefoon
activate-scan = Scan deze code met een authenticator-app, of typ de sleutel over.
activate-qr-label = QR-code van de sleutel die hieronder als tekst staat
activate-key = Sleutel:
activate-label = Naam van de telefoon
activate-label-default = telefoon
activate-code = De code die de app toont
activate-submit = Activeren
activate-done-title = Account klaar
activate-done = Uw account is klaar
activate-done-text = Log in als { $username } met uw wachtwoord en een code van uw telefoon.
activate-to-portal = Naar het portaal
activate-link-invalid-title = Activeringslink niet geldig
activate-link-invalid = Deze activeringslink is niet geldig: hij is al gebruikt, hij is verlopen, of hij is verkeerd overgenomen. Vraag de beheerder van uw organisatie om een nieuwe.
activate-refused-title = Verzoek geweigerd
activate-error-session = Uw sessie is verlopen. Open de activeringslink opnieuw.
activate-error-forged = Het formulier is niet vanaf de activeringspagina verstuurd. Open de link opnieuw.
activate-error-differ = De twee wachtwoorden verschillen.
activate-error-too-short = Het wachtwoord is te kort: minstens { $min } tekens.
activate-error-breached = Dit wachtwoord staat in een lijst van gelekte wachtwoorden; kies een ander.
activate-error-code = Die code klopt niet. Controleer of de app het nieuwe account toont en voer dan de huidige code in.
activate-error-label = Geef de telefoon een naam van 1 tot 64 tekens, zonder stuur- of tekstrichtingstekens.
activate-error-other = Dat is niet geaccepteerd. Controleer wat u heeft ingevuld en probeer het opnieuw.

## Wachtwoord opnieuw instellen ("Wachtwoord vergeten?")
reset-request-title = Wachtwoord vergeten
reset-request-heading = Wachtwoord vergeten?
reset-request-intro = Voer uw gebruikersnaam of het e-mailadres van uw account in. We mailen u een link om een nieuw wachtwoord te kiezen; u heeft ook een code van uw telefoon of token nodig.
reset-identifier = Gebruikersnaam of e-mailadres
reset-send = Stuur de link
reset-back = Terug naar inloggen
reset-error-identifier = Voer uw gebruikersnaam of e-mailadres in.
reset-sent-title = Kijk in uw mail
reset-sent = Als de gebruikersnaam of het adres hier bekend is, is er een mail onderweg naar het adres van het account, met een link om het wachtwoord opnieuw in te stellen. De link werkt een uur. Geen mail ontvangen? Kijk in de map met ongewenste mail, of vraag het de beheerder van uw organisatie.
reset-title = Stel uw wachtwoord opnieuw in
reset-account = Account
reset-code-intro = Bevestig eerst dat u het bent: open de authenticator-app op een telefoon die aan uw account is gekoppeld, of druk op uw token, en voer de code in die u ziet.
reset-code = Code
reset-code-hint = Telefoon kwijt? Voer dan een van uw herstelcodes in.
reset-continue = Verder
reset-password-title = Kies een nieuw wachtwoord
reset-password = Nieuw wachtwoord (minstens { $min } tekens)
reset-password-again = Het wachtwoord nogmaals
reset-set = Wachtwoord instellen
reset-done-title = Wachtwoord gewijzigd
reset-done = Uw wachtwoord is gewijzigd
reset-done-text = Log in als { $username } met uw nieuwe wachtwoord en een code van uw telefoon of token.
reset-sign-in = Inloggen
reset-link-invalid-title = Herstellink niet geldig
reset-link-invalid = Deze herstellink is niet geldig: hij is al gebruikt, er is een nieuwere gestuurd, hij is verlopen, of hij is verkeerd overgenomen. Vraag een nieuwe aan op de inlogpagina.
reset-too-many-title = Te veel verzoeken
reset-too-many = Te veel verzoeken vanaf uw netwerk. Wacht een paar minuten en probeer het opnieuw.
reset-refused-title = Verzoek geweigerd
reset-error-forged = Het formulier is niet vanaf deze pagina verstuurd, of het is te oud. Open de pagina opnieuw.
reset-error-code = Die code klopt niet. Voer de huidige code in van een telefoon of token die aan uw account is gekoppeld, of een van uw herstelcodes.
reset-error-no-device = Uw account heeft geen telefoon of token om mee te bevestigen. Vraag de beheerder van uw organisatie om uw wachtwoord opnieuw in te stellen.
reset-error-code-first = Bevestig eerst met een code van uw telefoon of token.
reset-error-differ = De twee wachtwoorden verschillen.
reset-error-too-short = Het wachtwoord is te kort: minstens { $min } tekens.
reset-error-breached = Dit wachtwoord staat in een lijst van gelekte wachtwoorden; kies een ander.
reset-error-other = Dat is niet geaccepteerd. Controleer wat u heeft ingevuld en probeer het opnieuw.

## /approve: een aangehouden aanmelding goedkeuren met een code
approve-title = Een aanmelding goedkeuren
approve-intro = Er wacht een aanmelding op uw goedkeuring (bijvoorbeeld bij het externe bureaublad). Voer uw gebruikersnaam in en de huidige code van een telefoon of token die aan uw account is gekoppeld, of een herstelcode.
approve-username = Gebruikersnaam
approve-code = Code
approve-submit = Goedkeuren
approve-refused = Niet goedgekeurd. Controleer de gebruikersnaam en voer de huidige code in van een telefoon of token die aan uw account is gekoppeld; er moet een aanmelding op uw goedkeuring wachten.
approve-approved = Goedgekeurd. Uw aanmelding gaat verder; u kunt deze pagina sluiten.

## De inlogverzoeken in het portaal
approvals-title = Inlogverzoeken
approvals-nav = Portaal
approvals-nav-devices = Mijn apparaten
approvals-nav-logins = Mijn logins
approvals-question = Logt u in bij { $client }?
approvals-meta = Vanaf { $source }, op { $at }. Dit verzoek verloopt op { $expires }.
approvals-unknown-source = een onbekend adres
approvals-choose = Kies het getal dat op de inlogpagina staat:
approvals-approve = Goedkeuren
approvals-deny = Weigeren
approvals-not-me = Dit was ik niet
approvals-not-me-hint = "Dit was ik niet" weigert de aanmelding, waarschuwt de beheerders en houdt verdere verzoeken een tijd tegen. Gebruik het als u niet zelf net probeerde in te loggen.
approvals-none = Er wacht geen aanmelding op uw goedkeuring. Deze pagina werkt zichzelf bij zodra er een binnenkomt.
approvals-not-bound = Inlogverzoeken beantwoordt u op een apparaat dat ze ontvangt: zet eerst meldingen aan op dit apparaat (hieronder), antwoord op de telefoon waar u dat al deed, of antwoord met een code van een telefoon of token op /approve.
approvals-with-code = Geen meldingen op dit apparaat, of alleen een hardwaretoken?
approvals-with-code-link = Antwoord met een code
approvals-with-code-rest = van een telefoon of token die aan uw account is gekoppeld.
approvals-push-title = Meldingen op dit apparaat
approvals-push-intro = Ontvang inlogverzoeken als meldingen op deze telefoon of computer (op een iPhone zet u het portaal eerst op het beginscherm: Deel, Zet op beginscherm). Het apparaat staat daarna onder Mijn apparaten, waar u het kunt verwijderen.
approvals-push-label = Naam van dit apparaat
approvals-push-placeholder = mijn telefoon
approvals-push-code = Huidige code van een van uw apparaten (nodig als u meer dan 5 minuten geleden bent ingelogd)
approvals-push-enable = Meldingen aanzetten
approvals-approved = U heeft de aanmelding bij { $client } goedgekeurd.
approvals-denied = U heeft de aanmelding bij { $client } geweigerd.
approvals-wrong-number = Dat was niet het getal op de inlogpagina: de aanmelding bij { $client } is geweigerd.
approvals-not-me-done = De aanmelding is geweigerd en de beheerders zijn gewaarschuwd. Wijzig uw wachtwoord als u denkt dat iemand anders het kent.
approvals-error-gone = Dit verzoek wacht niet meer: het is beantwoord, vervangen door een nieuwer verzoek, of verlopen.
approvals-error-other = Dat antwoord is niet geaccepteerd. Laad de pagina opnieuw en probeer het nog eens.
approvals-refused-title = Verzoek geweigerd
approvals-error-answer = Dat is geen antwoord dat deze pagina geeft.
approvals-error-subscription = De meldingen van deze browser konden niet worden gekoppeld. Probeer het opnieuw, of gebruik een andere browser.
approvals-error-label = Geef het apparaat een naam van 1 tot 64 tekens, zonder stuur- of tekstrichtingstekens.
approvals-error-too-many-devices = Er ontvangen al te veel apparaten uw inlogverzoeken. Verwijder er eerst een onder Mijn apparaten.
