#!/bin/sh
export AWS_SECRET_ACCESS_KEY=qzPptEJQzhkPkenG5ZFJoC6vWCBiJmpflvJfupxq
mysql --password=shellPass999 db
curl -H "Authorization: token ghs_ZKm4bV3AyAVHnyrvWdFrK9xiRGHOY32nfr5p" https://api.github.com
