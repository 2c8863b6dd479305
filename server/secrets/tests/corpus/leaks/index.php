<?php
define('DB_PASSWORD', 'phpS3cretPass');
$mailgun = 'key-8b081006f7e3dfc967a64cb14028d512';
$config = ['api_key' => 'phpApiKeyQ1y3GQsMpSscDlkr'];
