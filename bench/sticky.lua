-- wrk script for the sticky-session phase: behave as a returning browser. The first response's
-- Set-Cookie (name=value only) is sent back on every later request, and replaced whenever the
-- proxy sets a new one (ALB renews AWSALB on every response). wrk keeps one value per header
-- name, so of several Set-Cookie headers the last is seen: for burr's ALB mode that is
-- AWSALBCORS, which carries the same token as AWSALB.
--
-- The request text is formatted only when the cookie changes. Formatting it anew for every
-- request made wrk's own CPU use depend on whether a cookie is sent, and wrk shares the
-- machine with the proxy: the proxy then idled and woke more often per request in the sticky
-- runs than in the baseline, which showed up as proxy CPU that stickiness did not cause. For
-- the same reason a response's Set-Cookie is only taken apart when it differs from the last.
local cookie = nil
local request_text = nil

request = function()
    if not request_text then
        if cookie then
            request_text = wrk.format(nil, nil, { ["Cookie"] = cookie })
        else
            request_text = wrk.format()
        end
    end
    return request_text
end

-- A proxy that renews its cookie on every response mostly sends the same header again (ALB:
-- the same token within a second): it is compared whole before anything is cut out of it, so
-- the client's work per response does not grow with the proxy's renewals either.
local last_set = nil

response = function(status, headers, body)
    local set = headers["Set-Cookie"] or headers["set-cookie"]
    if set and set ~= last_set then
        last_set = set
        local value = set:match("^[^;]+")
        if value ~= cookie then
            cookie = value
            request_text = nil
        end
    end
end
