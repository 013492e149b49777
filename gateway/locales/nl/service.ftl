# Nederlandse teksten van de weigeringen van de service (issue 15): waarom een wijziging of
# een stap is geweigerd, zoals de pagina's het zeggen (service/refusal.rs). Elke sleutel
# staat ook in ../en/service.ftl.

## Het portaal: de eigen apparaten
svc-last-device = U kunt uw laatste apparaat niet verwijderen; vraag het de beheerder van uw organisatie of de helpdesk.
svc-wrong-code = Die code klopt niet. Voer de huidige code in van een ander apparaat van u.
svc-no-such-token = Er kan geen token met dat serienummer aan uw account worden gekoppeld. Controleer het nummer op het token, of vraag het uw beheerder.
svc-wrong-token-code = Die code klopt niet voor dit token. Druk op de knop van het token en voer de code in die het toont.
svc-wrong-new-code = Die code klopt niet. Controleer of de app het nieuwe account toont en voer dan de huidige code in.
svc-no-such-device = Dat apparaat is niet aan uw account gekoppeld.
svc-key-not-accepted = Het antwoord van de beveiligingssleutel is niet geaccepteerd. Probeer het opnieuw, of kies een andere sleutel.
svc-key-linked = Deze beveiligingssleutel is al gekoppeld.
svc-wrong-key = Die beveiligingssleutel is niet geaccepteerd. Gebruik een ander apparaat van u.
svc-wrong-step-up = Die code klopt niet. Voer de huidige code in van een van de apparaten die u al gebruikt.
svc-bad-label = Geef het apparaat een naam van 1 tot 64 tekens, zonder stuur- of tekstrichtingstekens.
svc-bad-subscription = De meldingen-inschrijving van deze browser is niet geaccepteerd. Probeer het opnieuw, of gebruik een andere browser.
svc-unknown-push-service = De pushdienst van deze browser is er geen waar de gateway naar verstuurt.
svc-push-devices-full = Hooguit { $max } apparaten kunnen uw inlogverzoeken krijgen. Verwijder er eerst een onder Mijn apparaten.
svc-request-gone = Dit verzoek wacht niet meer: het is beantwoord, vervangen door een nieuwer verzoek, of verlopen.

## Wachtwoorden (activering, herstel)
svc-passwords-differ = De twee wachtwoorden verschillen.
svc-password-too-short = Het wachtwoord is te kort: minstens { $min } tekens.
svc-password-breached = Dit wachtwoord staat in een lijst van gelekte wachtwoorden; kies een ander.

## Het wachtwoordherstel
svc-reset-link-invalid = Deze herstellink is niet geldig: hij is al gebruikt, er is een nieuwere gestuurd, hij is verlopen, of hij is verkeerd overgenomen. Vraag een nieuwe aan op de inlogpagina.
svc-reset-wrong-code = Die code klopt niet. Voer de huidige code in van een telefoon of token die aan uw account is gekoppeld, of een van uw herstelcodes.
svc-reset-no-device = Uw account heeft geen telefoon of token om mee te bevestigen. Vraag de beheerder van uw organisatie om uw wachtwoord opnieuw in te stellen.
svc-reset-code-first = Bevestig eerst met een code van uw telefoon of token.

## Organisaties en personen (de opdrachtregel, de operator)
svc-org-name-empty = De naam van de organisatie is leeg.
svc-org-name-no-letter = De naam van de organisatie moet een letter of een cijfer bevatten.
svc-org-suffix-taken = De organisatienaam "{ $name }" heeft hetzelfde loginachtervoegsel "{ $suffix }" als "{ $other }".
svc-username-ambiguous = "{ $username }" is een gebruikersnaam in { $count } organisaties: noem er een als { $names }.
svc-username-bad = De gebruikersnaam is leeg of bevat stuurtekens.
svc-full-name-empty = De volledige naam is leeg.
svc-use-unlock = Gebruik ontgrendelen, of maak de persoon opnieuw aan.
svc-person-not-active = { $username } is niet actief.
svc-temporary-code-minutes = Een tijdelijke code is 1 tot { $max } minuten geldig.
svc-totp-params = TOTP heeft 6 tot 8 cijfers nodig en een periode van 1 tot 300 seconden.
svc-not-hotp = Apparaat { $device } is geen HOTP-token.
svc-resync-window = De twee codes volgen elkaar niet op binnen het synchronisatievenster.
svc-import-unsupported = Regel { $entry } (serienummer "{ $serial }"): dit aantal cijfers of deze periode wordt niet ondersteund.
svc-erase-not-removed = Persoon { $person } is { $state ->
        [active] actief
        [disabled] uitgeschakeld
       *[other] { $state }
    }: verwijder de persoon eerst (`person remove`); alleen de identiteit van een verwijderde persoon kan worden gewist.
svc-policy-operator-only = Alleen de operator stelt het beleid van een organisatie in.
svc-policy-no-factors = Sta ten minste één soort factor toe (of alle).
svc-policy-lockout = De drempel voor de blokkering ({ $value }) moet tussen { $min } en { $max } liggen.
svc-policy-language = De taal { $value } is niet een van nl, en.
svc-policy-sso-hours = Eenmalige aanmelding duurt hooguit { $max } uur.
svc-policy-sso-idle = De tijd zonder gebruik voor eenmalige aanmelding moet 1 tot { $max } minuten zijn.
svc-policy-remember-days = Het aantal dagen voor een onthouden browser ({ $value }) moet tussen { $min } en { $max } liggen.
svc-policy-empty-ranges = Geef voor elke client ten minste één adresbereik.
svc-offboard-operator-only = Alleen de operator kan een organisatie laten vertrekken.

## Beheerhulpmiddelen
svc-codes-refused = Met deze twee codes kan het token niet worden gesynchroniseerd: typ twee codes die het token na elkaar toont (druk twee keer op de knop), de oudste eerst.
svc-not-resyncable = Alleen een actief HOTP-token (een token met een knop) kan opnieuw worden gesynchroniseerd.
svc-used-meanwhile = Het token is intussen gebruikt om in te loggen; typ twee nieuwe codes.

## De levenscyclus van accounts: verzoeken, activeringslinks, tokenvoorraad
svc-operator-only = Alleen de operator kan dit doen.
svc-link-invalid = Deze activeringslink is niet geldig: hij is al gebruikt, hij is verlopen, of hij is verkeerd overgenomen. Vraag de beheerder van uw organisatie om een nieuwe.
svc-reservation-closed = Deze reservering kan niet meer worden gewijzigd: de overstapdatum is voorbij of de reservering is gesloten.
svc-reservation-passed = De overstapdatum is voorbij: bestel tokens in plaats van ze te reserveren.
svc-account-not-active = Dit account is niet actief.
svc-fill-in = Vul { $field ->
        [name] de naam
        [e-mail-address] het e-mailadres
        [employee-number] het personeelsnummer
        [username] de gebruikersnaam
        [serial-number] het serienummer
        [delivery-address] het afleveradres
        [contact] de contactpersoon
        [reason] de reden
        [label] de omschrijving
       *[other] dit veld
    } in.
svc-too-long = { $field ->
        [name] De naam
        [e-mail-address] Het e-mailadres
        [employee-number] Het personeelsnummer
        [username] De gebruikersnaam
        [serial-number] Het serienummer
        [delivery-address] Het afleveradres
        [contact] De contactpersoon
        [reason] De reden
        [label] De omschrijving
       *[other] Dit veld
    } is te lang of bevat stuurtekens (hooguit { $max } tekens).
svc-token-count = Het aantal tokens moet 1 tot { $max } zijn.
svc-email-wrong = Het e-mailadres lijkt niet te kloppen.
svc-start-date = Geef de begindatum als JJJJ-MM-DD.
svc-end-date = Geef de einddatum als JJJJ-MM-DD.
svc-date = Geef de datum als JJJJ-MM-DD.
svc-no-factor = Kies ten minste één factor: een telefoon, een hardwaretoken, of beide.
svc-username-taken = Die gebruikersnaam is al in gebruik; kies een andere (of laat het veld leeg om het e-mailadres te gebruiken).
svc-username-taken-meanwhile = De gebruikersnaam is intussen door iemand anders genomen: wijs het verzoek af met die reden, zodat de organisatie het opnieuw kan vragen met een andere.
svc-nothing-to-change = Er is niets te wijzigen: geef een nieuwe naam, een nieuw e-mailadres, of vervang het token.
svc-no-such-person = Deze persoon bestaat niet in deze organisatie.
svc-has-password = Dit account heeft al een wachtwoord; een activeringslink is alleen voor accounts die nog niet zijn geactiveerd. Geef voor een kwijtgeraakt apparaat een tijdelijke code uit.
svc-not-in-stock = Er is geen token met dat serienummer in de voorraad van uw organisatie.
svc-request-not-at = Verzoek { $id } is { $status ->
        [submitted] ingediend
        [in_progress] in behandeling
        [done] afgehandeld
        [rejected] afgewezen
        [cancelled] geannuleerd
       *[other] { $status }
    }; dit kan nu niet meer bij dit verzoek.
svc-request-changed = Verzoek { $id } is intussen gewijzigd; open het opnieuw en probeer het nog eens.
svc-too-few-tokens = Er zijn maar { $stock } tokens op voorraad; er zijn er { $ordered } besteld.
svc-token-not-in-stock = Token "{ $serial }" is niet in de voorraad van de organisatie.

## De CSV-import van personen: wat er mis is met een regel van het bestand (na "regel N: ")
svc-csv-quote-inside = een aanhalingsteken midden in een veld: zet het hele veld tussen aanhalingstekens en verdubbel het aanhalingsteken ("")
svc-csv-text-after-quote = tekst na een afsluitend aanhalingsteken
svc-csv-quote-open = een veld tussen aanhalingstekens wordt niet afgesloten
svc-csv-too-large = het bestand is groter dan { $mib } MiB; splits het in kleinere bestanden
svc-csv-not-utf8 = geen UTF-8-tekst; sla het bestand op als CSV UTF-8
svc-csv-empty = het bestand is leeg: het heeft een kopregel nodig ({ $columns }) en een regel per persoon
svc-csv-column-twice = de kolom { $column } staat er twee keer in
svc-csv-column-unknown = onbekende kolom { $column }; de kolommen zijn { $columns }
svc-csv-column-missing = de kolom { $column } ontbreekt (de kopregel heeft name en email nodig)
svc-csv-no-people = het bestand heeft een kopregel maar geen personen
svc-csv-too-many = het bestand bevat { $count } personen; er kunnen er hooguit { $max } tegelijk worden geïmporteerd
svc-csv-fields = { $count } velden, maar de kopregel heeft er { $header }
svc-csv-field = de kolom { $column } van deze regel kan niet worden gelezen
svc-csv-bad-email = het e-mailadres { $email } lijkt niet te kloppen
svc-csv-bad-date = de begindatum { $date } is geen datum JJJJ-MM-DD
svc-csv-username-twice = de gebruikersnaam { $value } staat ook op regel { $line }
svc-csv-email-twice = het e-mailadres { $value } staat ook op regel { $line }
svc-csv-number-twice = het personeelsnummer { $value } staat ook op regel { $line }
svc-csv-username-taken = de gebruikersnaam { $username } is al in gebruik; geef een andere in de kolom username
svc-csv-made-meanwhile = er is intussen iemand aangemaakt met een gebruikersnaam uit dit bestand ({ $what }); er is niets geïmporteerd, controleer het bestand opnieuw
