package redislimit

// nowLine reads the server's clock in microseconds. Redis 5 and later
// replicate a script's effects rather than the script, so reading the clock
// before writing is allowed; older servers need replicate_commands.
const nowLine = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000000 + tonumber(t[2])`

// msLine rounds the expiry up to whole milliseconds for PX.
const msLine = `local ms = math.floor((ttl + 999) / 1000)`

// The scripts mirror gcra.Decide and gcra.Refund line for line, in
// microseconds. Lua numbers are doubles, exact for integers below 2^53; the
// rule limits keep every value well below that. Numbers are formatted with
// %.0f because Lua's default formatting keeps only 14 significant digits.
//
// Both take the same arguments:
//
// KEYS[1]  the key
// ARGV[1]  window in microseconds
// ARGV[2]  limit
// ARGV[3]  window // limit
// ARGV[4]  window % limit
// ARGV[5]  for scriptSource: "1" to count the event when allowed, "0" to
//          only look
//
// The state is stored as "tat:frac" with a PX expiry at the moment it is
// paid off.

// debtSource reads the key's state and leaves in di, df what it owes now,
// clamped to one window, as gcra's debt does.
const debtSource = `
if redis.replicate_commands then redis.replicate_commands() end
` + nowLine + `
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local q = tonumber(ARGV[3])
local rem = tonumber(ARGV[4])

local di, df = 0, 0
local v = redis.call('GET', KEYS[1])
if v then
  local ti, tf = string.match(v, '^(%d+):(%d+)$')
  if not ti then
    return redis.error_reply('redislimit: malformed state')
  end
  ti, tf = tonumber(ti), tonumber(tf)
  if ti >= now then
    di, df = ti - now, math.min(tf, limit - 1)
  end
end
if di > window or (di == window and df > 0) then
  di, df = window, 0
end
`

// storeSource stores the debt ni, nf from now, with an expiry when it is
// paid off.
const storeSource = `
  local ttl = ni
  if nf > 0 then ttl = ttl + 1 end
  ` + msLine + `
  redis.call('SET', KEYS[1], string.format('%.0f:%.0f', now + ni, nf), 'PX', string.format('%.0f', ms))
`

// scriptSource decides one event. It returns {allowed (1 or 0), debt after
// the event (whole microseconds), its fraction in 1/limit microseconds}.
const scriptSource = debtSource + `
local ni, nf = di + q, df + rem
if nf >= limit then
  ni, nf = ni + 1, nf - limit
end

if ni > window or (ni == window and nf > 0) then
  return {0, ni, nf}
end
if ARGV[5] == '1' then` + storeSource + `end
return {1, ni, nf}
`

// refundSource gives back one event. It returns {debt left (whole
// microseconds), its fraction in 1/limit microseconds}: {0, 0} when the key
// is back to a full limit, and then it is deleted (or was never there).
const refundSource = debtSource + `
if di == 0 and df == 0 then
  return {0, 0}
end
local ni, nf = di - q, df - rem
if nf < 0 then
  ni, nf = ni - 1, nf + limit
end
if ni < 0 or (ni == 0 and nf == 0) then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end` + storeSource + `return {ni, nf}
`
