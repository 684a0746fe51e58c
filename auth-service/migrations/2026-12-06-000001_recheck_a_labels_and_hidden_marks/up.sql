-- From this version on, an email's domain is stored in its Unicode form
-- (UTS #46 ToUnicode: `xn--mnchen-3ya` is `münchen`), and an address
-- with a mark hidden in its letter (a dot above `i`) is refused. Rows
-- stored under the older rules lose their skeleton here, so the service
-- looks at them again at start-up: a row whose new form is free moves to
-- it, any other keeps its email and is logged for an operator at every
-- start (never merged, never dropped).
UPDATE users SET email_skeleton = NULL
WHERE email LIKE '%xn--%' OR strpos(email, U&'\0307') > 0;
