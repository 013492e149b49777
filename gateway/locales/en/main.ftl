# English texts of mfa-gateway (issue 15). Every key is also in ../nl/main.ftl; a test
# fails when one is missing there or when no code uses it.

## RADIUS
radius-reject = Access denied
radius-challenge-prompt = Enter the code from your phone or token

## Mail: a change made by the provider's operator
mail-operator-subject = Your sign-in account: { $what }
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
