-- wrk script for the sticky-session phase: behave as a returning browser. The first response's
-- Set-Cookie (name=value only) is sent back on every later request, and replaced whenever the
-- proxy sets a new one (ALB renews AWSALB on every response). wrk keeps one value per header
-- name, so of several Set-Cookie headers the last is seen: for burr's ALB mode that is
-- AWSALBCORS, which carries the same token as AWSALB.
local cookie = nil

request = function()
    if cookie then
        return wrk.format(nil, nil, { ["Cookie"] = cookie })
    end
    return wrk.format()
end

response = function(status, headers, body)
    local set = headers["Set-Cookie"] or headers["set-cookie"]
    if set then
        cookie = set:match("^[^;]+")
    end
end
