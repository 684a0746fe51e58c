-- `wrk -t1 -s bench/refresh.lua <auth url> -- <refresh token>...`:
-- `POST /refresh` in a closed loop per connection, each request with a
-- refresh token nobody else holds (the arguments, then each answer's new
-- one), as `bench refresh` runs it. One thread only: a second would get
-- the same tokens and trip reuse detection. A request with no token left
-- (an answer without one) sends an empty token, which wrk counts as a
-- non-2xx answer, so a lost token fails the run instead of hiding in it.

local tokens = {}
-- wrk calls request() once before it opens a connection, to see how many
-- requests it returns (script_verify_request in wrk.c); that call sends
-- nothing, so it must not use up a token.
local checked = false

function init(args)
    for _, token in ipairs(args) do
        tokens[#tokens + 1] = token
    end
end

local headers = { ["Content-Type"] = "application/json" }

function request()
    if not checked then
        checked = true
        return wrk.format("POST", "/refresh", headers, '{"refresh_token":""}')
    end
    local token = table.remove(tokens) or ""
    return wrk.format("POST", "/refresh", headers, '{"refresh_token":"' .. token .. '"}')
end

function response(status, _, body)
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if status == 200 and token then
        tokens[#tokens + 1] = token
    end
end
