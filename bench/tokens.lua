-- wrk script: GET the URL's path with a bearer token taken round robin from
-- the file named by TOKENS_FILE (one token a line), so that with more
-- tokens than a server caches every request brings one it has not just
-- seen. Used by run.sh for the "cold" workload:
--
--   TOKENS_FILE=tokens.txt wrk -s tokens.lua http://127.0.0.1:18081/api/v1/users/me
local path = os.getenv("TOKENS_FILE")
assert(path, "TOKENS_FILE is not set")
local headers = {}
for line in io.lines(path) do
	if #line > 0 then
		headers[#headers + 1] = { Authorization = "Bearer " .. line }
	end
end
assert(#headers > 0, "no tokens in " .. path)
local n, i = #headers, 0

request = function()
	i = i % n + 1
	return wrk.format("GET", nil, headers[i])
end
