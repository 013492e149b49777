# Nederlandse teksten van mfa-gateway (issue 15). Elke sleutel staat ook in
# ../en/main.ftl; een test faalt als er een ontbreekt of als geen code hem gebruikt.

## RADIUS
radius-reject = Toegang geweigerd
radius-challenge-prompt = Voer de code van uw telefoon of token in

## Mail: een wijziging door de beheerder van de aanbieder
mail-operator-subject = Uw inlogaccount: { $what }
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
